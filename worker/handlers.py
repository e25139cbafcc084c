"""Intake handlers: each is one unit of work over the runtime, shared by the Celery tasks,
the command line and the HTTP API, so every way in follows the same rules.

Each returns a plain dict that the callers print or serialize: at least `id`, `state` and
`created` (whether this call created the transfer).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from models import Transfer
from worker import intake
from worker.db import transaction
from worker.runtime import Runtime


def register(rt: Runtime, payload: Mapping[str, Any], *, by: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    request = intake.parse_request(payload, rt.providers, now)
    with transaction(rt.engine) as session:
        transfer, created = intake.register(session, request, rt.providers[request.provider],
                                            by=by, now=now)
        return summary(transfer, created)


def begin(rt: Runtime, payload: Mapping[str, Any], *, by: str,
          deadline_s: float | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    request = intake.parse_request(payload, rt.providers, now)
    if deadline_s is not None and deadline_s <= 0:
        raise intake.IntakeError("deadline", "must be a positive number of seconds")
    deadline = now + timedelta(seconds=deadline_s) if deadline_s else None
    with transaction(rt.engine) as session:
        transfer, created = intake.begin(session, request, rt.providers[request.provider],
                                         by=by, now=now, deadline=deadline)
        return summary(transfer, created)


def complete(rt: Runtime, provider: str, tx_id: str, outcome: str, *, by: str) -> dict[str, Any]:
    """Raises intake.Contradicted, after the contradiction is committed, when the answer
    disagrees with the transfer's final state."""
    with transaction(rt.engine) as session:
        done = intake.complete(session, provider, tx_id, outcome,
                               by=f"caller:{by}", now=datetime.now(UTC))
        result = summary(done.transfer, False)
    if done.contradicted:
        raise intake.Contradicted(
            f"transfer {result['id']} is already {result['state']}; the reported "
            f"{outcome.lower()} contradicts it and was recorded for an admin, not applied")
    return result


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
