from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class OutboxEvent(Base):
    """An event written in the transaction that caused it; the relay publishes it afterwards.

    `seq` orders all events (and so each transfer's events); `id` is the CloudEvents id that
    consumers de-duplicate on.
    """

    __tablename__ = "outbox_events"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()
    published_at: Mapped[datetime | None]
    stream_entry_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
        # A transfer is resolved once: a second resolution event cannot be written.
        Index(
            "uq_outbox_one_resolution",
            "transfer_id",
            unique=True,
            postgresql_where=text("type IN ('transfer.resolved', 'transfer.manually_resolved')"),
        ),
        Index("ix_outbox_transfer", "transfer_id", "seq"),
    )
