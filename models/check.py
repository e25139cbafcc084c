from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Check(Base):
    """One status query of one transfer: what was asked, what came back, what it meant."""

    __tablename__ = "checks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    # When the provider call began (None for checks recorded before this was kept): with
    # checked_at, the span of the call, so overlapping checks of one transfer can be seen.
    started_at: Mapped[datetime | None]
    checked_at: Mapped[datetime] = created_at_column()
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None]
    latency_ms: Mapped[int]
    request: Mapped[str] = mapped_column(Text)
    response_excerpt: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    provider_status: Mapped[str | None] = mapped_column(String(64))
    provider_amount: Mapped[Decimal | None]
    provider_currency: Mapped[str | None] = mapped_column(String(16))
    # False when the lease had passed to another check before this answer came back.
    applied: Mapped[bool]

    __table_args__ = (
        Index("ix_checks_transfer", "transfer_id", "id"),
        # The admin page's provider health reads the last minutes of checks, not all of them.
        Index("ix_checks_checked_at", "checked_at"),
    )
