"""The intake service: each function is one unit of work over the runtime, shared by the Celery
tasks, the command line and the HTTP API, so every way in follows the same rules.

Each checks all of its input (`worker.engine.intake.registration`) before it opens a
transaction, and raises InvalidInput naming the field when something is wrong. Each returns a
plain dict that the callers print or serialize: at least `id`, `state` and `created` (whether
this call created the transfer). Each logs what it did once its transaction has committed, and a
refusal that names a known transfer (a conflict, a contradiction) once nothing more is written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models import Transfer
from worker.domain.types import TransferRef
from worker.engine.intake import registration
from worker.metrics import engine as metrics
from worker.process import logs, tracing
from worker.process.db import transaction
from worker.process.runtime import Runtime

log = logs.get(__name__)


def register(runtime: Runtime, payload: object, *, by: object) -> dict[str, Any]:
    with tracing.span("resolver.intake.register") as step:
        result = _register(runtime, payload, by=by)
        _describe(step, result)
        return result


def _register(runtime: Runtime, payload: object, *, by: object) -> dict[str, Any]:
    now = datetime.now(UTC)
    request = registration.parse_request(payload, runtime.providers, now)
    actor = registration.actor(by)
    try:
        with transaction(runtime.engine) as session:
            instance = runtime.providers[request.provider]
            transfer, created = registration.register(session, request, instance, by=actor,
                                                      now=now)
            result = summary(transfer, created)
    except registration.ConflictError as exc:
        _tell_conflict(request, exc, "register")
        raise
    log.info("transfer registered", transfer_id=result["id"], provider=result["provider"],
             tx_id=result["tx_id"], created=created, state=result["state"], by=actor,
             next_check_at=result["next_check_at"])
    return result


def begin(runtime: Runtime, payload: object, *, by: object,
          deadline_s: object = None) -> dict[str, Any]:
    with tracing.span("resolver.intake.begin") as step:
        result = _begin(runtime, payload, by=by, deadline_s=deadline_s)
        _describe(step, result)
        return result


def _begin(runtime: Runtime, payload: object, *, by: object,
           deadline_s: object = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    request = registration.parse_request(payload, runtime.providers, now)
    actor = registration.actor(by)
    deadline = registration.in_flight_deadline(deadline_s, runtime.providers[request.provider],
                                               runtime.settings.max_in_flight_deadline_s, now)
    try:
        with transaction(runtime.engine) as session:
            transfer, created = registration.begin(session, request, by=actor, deadline=deadline)
            result = summary(transfer, created)
    except registration.ConflictError as exc:
        _tell_conflict(request, exc, "begin")
        raise
    log.info("transfer begun", transfer_id=result["id"], provider=result["provider"],
             tx_id=result["tx_id"], created=created, state=result["state"], by=actor,
             deadline=deadline.isoformat())
    return result


def _tell_conflict(request: TransferRef, exc: registration.ConflictError, call: str) -> None:
    log.info("transfer refused", transfer_id=exc.transfer_id, provider=request.provider,
             tx_id=request.tx_id, call=call, conflict=exc.field)


def complete(runtime: Runtime, provider: object, tx_id: object, outcome: object, *,
             by: object) -> dict[str, Any]:
    """Raises registration.Contradicted, after the contradiction is committed, when the answer
    disagrees with the transfer's final state."""
    with tracing.span("resolver.intake.complete", reported=str(outcome)[:64]) as step:
        result = _complete(runtime, provider, tx_id, outcome, by=by)
        _describe(step, result)
        return result


def _describe(step: tracing.Span, result: dict[str, Any]) -> None:
    """The transfer an intake call ended with, on its span (a refusal is the span's error)."""
    tracing.set_attributes(step, transfer_id=result["id"], provider=result["provider"],
                           tx_id=result["tx_id"], state=result["state"],
                           created=result["created"])


def _complete(runtime: Runtime, provider: object, tx_id: object, outcome: object, *,
              by: object) -> dict[str, Any]:
    report = registration.parse_completion(provider, tx_id, outcome)
    actor = registration.actor(by)
    with transaction(runtime.engine) as session:
        done = registration.complete(session, report, by=f"caller:{actor}", now=datetime.now(UTC))
        result = summary(done.transfer, False)
        waited = _waited(done.transfer)
    facts = {"transfer_id": result["id"], "provider": result["provider"],
             "tx_id": result["tx_id"], "by": f"caller:{actor}"}
    if done.resolved:  # committed: count it
        metrics.count_resolutions(result["provider"], "caller", [(result["state"], waited)])
        log.info("transfer resolved", **facts, outcome=result["state"], source="caller")
    elif done.contradicted:
        log.info("transfer contradiction recorded", **facts, outcome=result["state"],
                 reported=report.state.value)
    else:
        log.info("transfer completion repeated", **facts, outcome=result["state"])
    if done.contradicted:
        raise registration.Contradicted(
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
