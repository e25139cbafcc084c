from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column
from worker.domain.types import ALL_STATES

STATES = ALL_STATES


class Transfer(Base):
    """One transfer whose outcome the operator did not learn: the queue of record.

    `next_check_at` is the one clock of the engine: for a pending transfer, when it is due; while a
    check holds it, when that check's lease runs out; for an in-flight transfer, its deadline.
    """

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))
    tx_id: Mapped[str] = mapped_column(String(128))
    player_id: Mapped[str] = mapped_column(String(128))
    player_ref: Mapped[str | None] = mapped_column(String(256))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(server_default="0")
    not_found_streak: Mapped[int] = mapped_column(server_default="0")
    next_check_at: Mapped[datetime | None]
    lease_token: Mapped[uuid.UUID | None]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    version: Mapped[int] = mapped_column(server_default="1")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("provider", "tx_id"),
        CheckConstraint("direction IN ('deposit', 'withdraw')", name="direction"),
        CheckConstraint(f"state IN {STATES}", name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("attempts >= 0 AND not_found_streak >= 0", name="counters"),
        CheckConstraint(
            "(state IN ('succeeded', 'failed')) = (resolved_at IS NOT NULL)", name="resolved_at"
        ),
        CheckConstraint(
            "state NOT IN ('pending', 'in_flight') OR next_check_at IS NOT NULL",
            name="next_check_at",
        ),
        # "Due pending transfers of one instance" stays an index scan however many rows exist.
        Index(
            "ix_transfers_due",
            "provider",
            "next_check_at",
            postgresql_where=text("state = 'pending'"),
        ),
        # Checks under way per instance, counted before every claim: only leased rows, so the
        # count does not grow with the backlog waiting for its next check.
        Index(
            "ix_transfers_leased",
            "provider",
            "next_check_at",
            postgresql_where=text("state = 'pending' AND lease_token IS NOT NULL"),
        ),
        Index(
            "ix_transfers_in_flight_deadline",
            "next_check_at",
            postgresql_where=text("state = 'in_flight'"),
        ),
        Index("ix_transfers_state_created", "state", "created_at"),
        # "Resolutions in the last hour" reads only recent rows, not the whole history.
        Index(
            "ix_transfers_resolved_at",
            "resolved_at",
            postgresql_where=text("resolved_at IS NOT NULL"),
        ),
    )
