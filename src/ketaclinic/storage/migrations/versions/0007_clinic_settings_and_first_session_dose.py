"""clinic settings of protocols and screening rules; a plan's first-session dose

- ``clinic_setting_changes``: append-only record of the values a clinic set in place of a
  protocol's (or a screening rule's) sourced ones, with who, when and why.
- ``treatment_plans.first_session_dose_mg``: a fixed-dose plan's first dose ("56 mg, then 84").

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ketaclinic.storage.tables import types as kt

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clinic_setting_changes",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("setting_id", sa.String(length=80), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("reverted", sa.Boolean(), nullable=False),
        sa.Column("previous_value", sa.JSON(), nullable=True),
        sa.Column("default_value", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", kt.UTCDateTime(), nullable=False),
        sa.Column("id", kt.UUIDString(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_setting_changes")),
    )
    with op.batch_alter_table("clinic_setting_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_clinic_setting_changes_scope_setting", ["scope", "setting_id"], unique=False
        )
    with op.batch_alter_table("treatment_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_session_dose_mg", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("treatment_plans", schema=None) as batch_op:
        batch_op.drop_column("first_session_dose_mg")
    with op.batch_alter_table("clinic_setting_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_clinic_setting_changes_scope_setting")
    op.drop_table("clinic_setting_changes")
