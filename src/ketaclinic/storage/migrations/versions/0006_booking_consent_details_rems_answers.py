"""booking from a plan, consent details, REMS clinician answers

- ``supervised_sessions.plan_session_id`` unique: one booked session per plan calendar entry.
- ``consents``: who obtained the consent, who withdrew it and why.
- ``rems_forms.clinician_answers``: the clinician's answers, kept when the form is regenerated.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supervised_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_supervised_sessions_plan_session_id", ["plan_session_id"], unique=True
        )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("obtained_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("rems_forms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clinician_answers", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("rems_forms", schema=None) as batch_op:
        batch_op.drop_column("clinician_answers")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_by")
        batch_op.drop_column("obtained_by")
    with op.batch_alter_table("supervised_sessions", schema=None) as batch_op:
        batch_op.drop_index("uq_supervised_sessions_plan_session_id")
