"""Redelivery by hand: start an event's deliveries again from the first step of the schedule.

Failed and delivered deliveries become due now; a subscriber that wants the event but has no
delivery yet (it was configured after the event) gets one. A delivery whose attempt is under
way right now is left alone. The person who asked is written to the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select

from models import AuditRecord, OutboxEvent, WebhookDelivery
from worker.process.db import transaction
from worker.webhooks.config import Subscriber


class RedeliveryError(Exception):
    """The event or subscriber does not exist; exit status 2 on the command line."""

    exit_code = 2


@dataclass
class Redelivery:
    event_id: str
    restarted: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)


def redeliver(engine: Engine, event_id: str, subscribers: Mapping[str, Subscriber], *,
              by: str, now: datetime, only: str | None = None) -> Redelivery:
    try:
        wanted_id = uuid.UUID(event_id)
    except ValueError:
        raise RedeliveryError(f"{event_id!r} is not an event id (a UUID)") from None
    if only is not None and only not in subscribers:
        raise RedeliveryError(f"no subscriber named {only!r} is configured")
    outcome = Redelivery(str(wanted_id))
    with transaction(engine) as session:
        event = session.execute(
            select(OutboxEvent).where(OutboxEvent.id == wanted_id)
        ).scalar_one_or_none()
        if event is None:
            raise RedeliveryError(f"no event with id {wanted_id}")
        deliveries = {
            delivery.subscriber: delivery
            for delivery in session.execute(
                select(WebhookDelivery).where(WebhookDelivery.event_id == wanted_id)
                .with_for_update()
            ).scalars()
        }
        names = [only] if only else sorted(
            set(deliveries) | {s.name for s in subscribers.values() if s.wants(event.type)}
        )
        for name in names:
            delivery = deliveries.get(name)
            if delivery is None:
                session.add(WebhookDelivery(subscriber=name, event_id=wanted_id,
                                            status="pending", next_attempt_at=now,
                                            created_at=now, updated_at=now))
                outcome.created.append(name)
            elif _attempt_under_way(delivery, now):
                outcome.in_progress.append(name)
            else:
                delivery.status = "pending"
                delivery.attempts = 0
                delivery.next_attempt_at = now
                delivery.lease_token = None
                delivery.delivered_at = None
                delivery.updated_at = now
                outcome.restarted.append(name)
        session.add(AuditRecord(
            transfer_id=event.transfer_id, actor=by, action="webhook_redeliver",
            details={"event_id": str(wanted_id), "restarted": outcome.restarted,
                     "created": outcome.created, "in_progress": outcome.in_progress},
        ))
    return outcome


def _attempt_under_way(delivery: WebhookDelivery, now: datetime) -> bool:
    return (delivery.status == "pending" and delivery.lease_token is not None
            and delivery.next_attempt_at is not None and delivery.next_attempt_at > now)
