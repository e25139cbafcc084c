"""An index for recent resolutions (the admin statistics).

Built CONCURRENTLY, outside the migration's transaction: transfers is one of the large tables,
and a plain CREATE INDEX would block intake and the sweep's updates for as long as the build
takes. (A database that already ran this revision as a plain build keeps its index unchanged.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESOLVED = sa.text("resolved_at IS NOT NULL")


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # A build interrupted half-way leaves an invalid index behind: drop it and build anew.
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_transfers_resolved_at")
        op.create_index("ix_transfers_resolved_at", "transfers", ["resolved_at"], unique=False,
                        postgresql_where=RESOLVED, postgresql_concurrently=True)


def downgrade() -> None:
    # Inside the downgrade's one transaction (not CONCURRENTLY): a downgrade refused by a later
    # step must undo this one too, and dropping an index is quick whatever the table's size.
    op.drop_index("ix_transfers_resolved_at", table_name="transfers", postgresql_where=RESOLVED)
