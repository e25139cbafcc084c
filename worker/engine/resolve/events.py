"""Resolution events as CloudEvents 1.0, written to the outbox by the transaction behind them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from models import OutboxEvent, Transfer

SOURCE = "urn:transfer-resolver"
RESOLVED = "transfer.resolved"
MANUALLY_RESOLVED = "transfer.manually_resolved"
NEEDS_REVIEW = "transfer.needs_review"
# A caller's clear answer disagrees with the final state; the state does not change.
CONTRADICTED = "transfer.contradicted"


class EventFacts(Protocol):
    """What an event tells of its transfer: a Transfer row, or the batched engine's snapshot."""

    @property
    def id(self) -> int: ...
    @property
    def provider(self) -> str: ...
    @property
    def tx_id(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def player_id(self) -> str: ...
    @property
    def player_ref(self) -> str | None: ...
    @property
    def resolved_by(self) -> str | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def sent_at(self) -> datetime: ...
    @property
    def resolved_at(self) -> datetime | None: ...


def cloud_event(event_id: uuid.UUID, seq: int, event_type: str, transfer: EventFacts,
                outcome: str, reason: str | None, now: datetime,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event_id),
        # Extension attribute: the event's position in the outbox, what replay takes as `after`.
        "outboxseq": seq,
        "source": f"{SOURCE}:{transfer.provider}",
        "type": event_type,
        "subject": str(transfer.id),
        "time": now.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "transfer_id": transfer.id,
            "provider": transfer.provider,
            "tx_id": transfer.tx_id,
            "direction": transfer.direction,
            # Money travels as a string with four decimals: never a JSON float.
            "amount": f"{transfer.amount:.4f}",
            "currency": transfer.currency,
            "player_id": transfer.player_id,
            "player_ref": transfer.player_ref,
            "outcome": outcome,
            "reason": reason,
            "resolved_by": transfer.resolved_by,
            "attempts": transfer.attempts,
            "sent_at": transfer.sent_at.isoformat(),
            "resolved_at": transfer.resolved_at.isoformat() if transfer.resolved_at else None,
        },
    }
    if extra:
        event["data"].update(extra)
    return event


# Outbox writers queue on this lock from their insert until they commit, so that `seq` order
# is commit order: a reader that has seen seq N never meets a smaller seq committed later.
# Held only between the insert (the last write of a resolution) and the commit.
OUTBOX_LOCK = 0x6F75_7462_6F78
NEXT_SEQ = text("SELECT nextval(pg_get_serial_sequence('outbox_events', 'seq'))")


def record_event(session: Session, event_type: str, transfer: Transfer, outcome: str,
                 reason: str | None, now: datetime,
                 extra: dict[str, Any] | None = None) -> OutboxEvent:
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK})
    # The seq is taken first, under the lock, so the event can carry it.
    seq = session.execute(NEXT_SEQ).scalar_one()
    event_id = uuid.uuid4()
    event = OutboxEvent(
        seq=seq,
        id=event_id,
        transfer_id=transfer.id,
        type=event_type,
        payload=cloud_event(event_id, seq, event_type, transfer, outcome, reason, now, extra),
    )
    session.add(event)
    session.flush()
    return event
