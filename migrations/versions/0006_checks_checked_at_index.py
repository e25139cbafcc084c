"""An index of checks by time, so the provider health panel reads only the last minutes.

Built CONCURRENTLY, outside the migration's transaction: the checks table is the largest there
is (a row per provider answer), and a plain CREATE INDEX would block every check's insert for
as long as the build takes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # A build interrupted half-way leaves an invalid index behind: drop it and build anew.
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_checks_checked_at")
        op.create_index("ix_checks_checked_at", "checks", ["checked_at"], unique=False,
                        postgresql_concurrently=True)


def downgrade() -> None:
    # Inside the downgrade's one transaction (not CONCURRENTLY): a downgrade refused by a later
    # step must undo this one too, and dropping an index is quick whatever the table's size.
    op.drop_index("ix_checks_checked_at", table_name="checks")
