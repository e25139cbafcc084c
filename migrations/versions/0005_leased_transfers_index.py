"""An index of leased transfers, so counting an instance's checks under way ignores the backlog.

Built CONCURRENTLY, outside the migration's transaction: on a live database with millions of
transfers a plain CREATE INDEX would block the sweep and intake for as long as the build takes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEASED = sa.text("state = 'pending' AND lease_token IS NOT NULL")


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # A build interrupted half-way leaves an invalid index behind: drop it and build anew.
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_transfers_leased")
        op.create_index("ix_transfers_leased", "transfers", ["provider", "next_check_at"],
                        unique=False, postgresql_where=LEASED, postgresql_concurrently=True)


def downgrade() -> None:
    # Inside the downgrade's one transaction (not CONCURRENTLY, which would commit the steps
    # before it): a downgrade refused by a later step must undo this one and every one before
    # it (worker.process.downgrade_guard). Dropping an index is quick whatever the table's size.
    op.drop_index("ix_transfers_leased", table_name="transfers", postgresql_where=LEASED)
