"""An index for recent resolutions (the admin statistics).

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


def upgrade() -> None:
    op.create_index("ix_transfers_resolved_at", "transfers", ["resolved_at"], unique=False,
                    postgresql_where=sa.text("resolved_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_transfers_resolved_at", table_name="transfers",
                  postgresql_where=sa.text("resolved_at IS NOT NULL"))
