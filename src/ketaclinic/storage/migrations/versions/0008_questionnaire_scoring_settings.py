"""questionnaire responses keep the scoring settings that produced them

- ``questionnaire_responses.scoring_settings``: the cut-off each configurable rule applied, the
  severity band set and the pre-dose total (ScoringSettings), so a stored score can be re-derived
  from its item answers. Null for responses stored before this revision.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("questionnaire_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scoring_settings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("questionnaire_responses", schema=None) as batch_op:
        batch_op.drop_column("scoring_settings")
