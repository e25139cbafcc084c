"""When each check's provider call began, and callers' answers that contradict a final state.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from worker.process.downgrade_guard import refuse_dropping_rows

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("checks", sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "contradictions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("final_state", sa.String(length=16), nullable=False),
        sa.Column("reported_state", sa.String(length=16), nullable=False),
        sa.Column("reported_by", sa.String(length=160), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("final_state <> reported_state",
                           name=op.f("ck_contradictions_disagrees")),
        sa.CheckConstraint("reported_state IN ('succeeded', 'failed')",
                           name=op.f("ck_contradictions_reported_state")),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfers.id"],
                                name=op.f("fk_contradictions_transfer_id_transfers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contradictions")),
        sa.UniqueConstraint("transfer_id", "reported_state",
                            name=op.f("uq_contradictions_transfer_id_reported_state")),
    )


def downgrade() -> None:
    refuse_dropping_rows("contradictions")
    op.drop_table("contradictions")
    op.drop_column("checks", "started_at")
