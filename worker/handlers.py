"""Intake handlers: each is one unit of work over the runtime, shared by the Celery tasks,
the command line and the HTTP API, so every way in follows the same rules.

Each checks all of its input (`worker.intake`) before it opens a transaction, and raises
IntakeError naming the field when something is wrong. Each returns a plain dict that the
callers print or serialize: at least `id`, `state` and `created` (whether this call created
the transfer).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models import Transfer
from worker import intake
from worker.db import transaction
from worker.metrics import engine as metrics
from worker.runtime import Runtime


def register(rt: Runtime, payload: object, *, by: object) -> dict[str, Any]:
    now = datetime.now(UTC)
    request = intake.parse_request(payload, rt.providers, now)
    actor = intake.actor(by)
    with transaction(rt.engine) as session:
        transfer, created = intake.register(session, request, rt.providers[request.provider],
                                            by=actor, now=now)
        return summary(transfer, created)


def begin(rt: Runtime, payload: object, *, by: object,
          deadline_s: object = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    request = intake.parse_request(payload, rt.providers, now)
    actor = intake.actor(by)
    deadline = intake.in_flight_deadline(deadline_s, rt.providers[request.provider],
                                         rt.settings.max_in_flight_deadline_s, now)
    with transaction(rt.engine) as session:
        transfer, created = intake.begin(session, request, by=actor, deadline=deadline)
        return summary(transfer, created)


def complete(rt: Runtime, provider: object, tx_id: object, outcome: object, *,
             by: object) -> dict[str, Any]:
    """Raises intake.Contradicted, after the contradiction is committed, when the answer
    disagrees with the transfer's final state."""
    report = intake.parse_completion(provider, tx_id, outcome)
    actor = intake.actor(by)
    with transaction(rt.engine) as session:
        done = intake.complete(session, report, by=f"caller:{actor}", now=datetime.now(UTC))
        result = summary(done.transfer, False)
        waited = _waited(done.transfer)
    if done.resolved:  # committed: count it
        metrics.count_resolutions(result["provider"], "caller", [(result["state"], waited)])
    if done.contradicted:
        raise intake.Contradicted(
            f"transfer {result['id']} is already {result['state']}; the reported "
            f"{report.state.value} contradicts it and was recorded for an admin, not applied")
    return result


def _waited(transfer: Transfer) -> float | None:
    """Seconds from sent_at to the resolution, for the time-to-resolution histogram."""
    if transfer.resolved_at is None:
        return None
    return (transfer.resolved_at - transfer.sent_at).total_seconds()


def summary(transfer: Transfer, created: bool) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "provider": transfer.provider,
        "tx_id": transfer.tx_id,
        "state": transfer.state,
        "created": created,
        "amount": f"{transfer.amount:.4f}",
        "currency": transfer.currency,
        "direction": transfer.direction,
        "next_check_at": transfer.next_check_at.isoformat() if transfer.next_check_at else None,
    }
