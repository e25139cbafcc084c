from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column

DELIVERY_STATUSES = ("pending", "delivered", "failed")
ATTEMPT_RESULTS = ("delivered", "retrying", "failed")


class WebhookFanout(Base):
    """An outbox event not yet turned into webhook deliveries.

    A database trigger on `outbox_events` writes one row per event in the transaction that wrote
    the event, so no event can slip past the fan-out (a cursor over `seq` could: sequence numbers
    are taken at insert but become visible in commit order). The fan-out deletes the row once it
    has created the deliveries.
    """

    __tablename__ = "webhook_fanout_queue"

    event_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("outbox_events.seq"), primary_key=True
    )
    created_at: Mapped[datetime] = created_at_column()


class WebhookDelivery(Base):
    """One event on its way to one subscriber; its retries wait here, not in a broker.

    `next_attempt_at` is when it is due while pending; while an attempt holds it (`lease_token`),
    when that lease runs out, so a delivery whose worker died becomes due again by itself.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_events.id"))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    # Failed attempts since the delivery was created or last redelivered by hand: the step of
    # the retry schedule it is on.
    attempts: Mapped[int] = mapped_column(server_default="0")
    next_attempt_at: Mapped[datetime | None]
    lease_token: Mapped[uuid.UUID | None]
    last_attempt_at: Mapped[datetime | None]
    last_http_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        # One delivery per subscriber and event, however often the fan-out runs.
        UniqueConstraint("subscriber", "event_id"),
        CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint(
            "(status = 'pending') = (next_attempt_at IS NOT NULL)", name="next_attempt_at"
        ),
        CheckConstraint("(status = 'delivered') = (delivered_at IS NOT NULL)",
                        name="delivered_at"),
        Index(
            "ix_webhook_deliveries_due",
            "subscriber",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_event", "event_id"),
    )


class WebhookAttempt(Base):
    """One HTTP POST of a delivery: when, the answer, how long it took, what went wrong.

    Never holds the subscriber's secret or the signature.
    """

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"))
    attempted_at: Mapped[datetime] = created_at_column()
    http_status: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint(f"result IN {ATTEMPT_RESULTS}", name="result"),
        Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
    )
