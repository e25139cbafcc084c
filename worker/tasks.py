"""Celery tasks: thin wrappers that hand each message to the engine's functions.

Names are public: the operator's wallet calls `send_task("resolver.register_transfer", ...,
queue="resolver.intake")` without importing this project, and waits for the intake task's reply
(worker.replies). Every task is safe to run twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from worker import handlers, heartbeat, relay, replies, runtime, sweep
from worker.celery import app
from worker.check import Done, run_check
from worker.webhooks import runner as webhooks
from worker.webhooks.claims import DeliveryClaim

log = logging.getLogger(__name__)

# Intake must not lose a transfer while Postgres is briefly away: retry, with backoff. The
# wallet hears nothing until the row is committed; if it gives up waiting it sends again, which
# is safe because intake is idempotent. Unlike every other task, intake keeps its result: the
# reply (worker.replies) is how the wallet learns its transfer is recorded or refused.
_INTAKE: dict[str, Any] = {
    "ignore_result": False,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 30,
}


@app.task(name="resolver.register_transfer", **_INTAKE)
def register_transfer(payload: dict[str, Any], by: str = "wallet") -> dict[str, Any]:
    return replies.answer(handlers.register, runtime.current(), payload, by=by)


@app.task(name="resolver.begin_transfer", **_INTAKE)
def begin_transfer(payload: dict[str, Any], deadline_s: float | None = None,
                   by: str = "wallet") -> dict[str, Any]:
    return replies.answer(handlers.begin, runtime.current(), payload, by=by,
                          deadline_s=deadline_s)


@app.task(name="resolver.complete_transfer", **_INTAKE)
def complete_transfer(provider: str, tx_id: str, outcome: str,
                      by: str = "wallet") -> dict[str, Any]:
    return replies.answer(handlers.complete, runtime.current(), provider, tx_id, outcome, by=by)


@app.task(name="resolver.sweep")
def sweep_due() -> dict[str, int]:
    rt = runtime.current()
    now = datetime.now(UTC)
    counts = sweep.sweep(
        rt.engine,
        rt.providers,
        now,
        lease=timedelta(seconds=rt.settings.lease_s),
        limit=rt.settings.sweep_limit,
        dispatch=dispatch_checks,
    )
    heartbeat.beat(rt.redis, heartbeat.SWEEP, now)
    return counts


def dispatch_checks(claims: list[sweep.Claim]) -> None:
    """Send one check message per claimed transfer, all of a batch over one connection."""
    lease_s = runtime.current().settings.lease_s
    with app.producer_or_acquire() as producer:
        for claim in claims:
            check_transfer.apply_async(
                args=(claim.transfer_id, str(claim.lease_token), claim.provider),
                producer=producer,
                # Past its lease a check message is stale: the sweep will claim anew.
                expires=lease_s,
            )


# A check slot that finishes does not wait for the next sweep: it claims the instance's next
# due transfer itself (same lease rules, same concurrency cap), a bounded number of times.
FOLLOW_UPS = 50
FOLLOW_UP_SECONDS = 20.0


@app.task(name="resolver.check_transfer")
def check_transfer(transfer_id: int, lease_token: str, provider: str | None = None) -> str:
    rt = runtime.current()
    done = run_check(rt.engine, rt.providers, transfer_id, uuid.UUID(lease_token),
                     rt.adapter_for, rt.guard)
    log.info("check transfer=%s result=%s", transfer_id, done.value)
    instance = rt.providers.get(provider or "")
    if instance is None or done in (Done.SKIPPED, Done.DEFERRED):
        return done.value
    lease = timedelta(seconds=rt.settings.lease_s)
    stop_at = time.monotonic() + FOLLOW_UP_SECONDS
    for _ in range(FOLLOW_UPS):
        if time.monotonic() > stop_at:
            break
        claims = sweep.claim_due(rt.engine, instance, datetime.now(UTC), lease, limit=1)
        if not claims:
            break
        followed = run_check(rt.engine, rt.providers, claims[0].transfer_id,
                             claims[0].lease_token, rt.adapter_for, rt.guard)
        log.info("check transfer=%s result=%s", claims[0].transfer_id, followed.value)
        if followed is Done.DEFERRED:  # rate limit or open breaker: let the schedule wait
            break
    return done.value


@app.task(name="resolver.relay_events")
def relay_events() -> int:
    rt = runtime.current()
    return relay.relay(rt.engine, rt.redis, rt.settings.events_stream,
                       rt.settings.stream_maxlen, rt.settings.relay_batch)


@app.task(name="resolver.deliver_webhooks")
def deliver_webhooks() -> dict[str, int]:
    rt = runtime.current()
    return webhooks.run_once(rt.engine, webhooks.setup_from(rt.settings),
                             dispatch=dispatch_webhooks)


def dispatch_webhooks(claims: list[DeliveryClaim]) -> None:
    lease_s = runtime.current().settings.webhook_lease_s
    with app.producer_or_acquire() as producer:
        for claim in claims:
            deliver_webhook.apply_async(
                args=(claim.delivery_id, str(claim.lease_token)),
                producer=producer,
                # Past its lease the claim is stale: the next pass claims the delivery anew.
                expires=lease_s,
            )


@app.task(name="resolver.deliver_webhook")
def deliver_webhook(delivery_id: int, lease_token: str) -> str:
    rt = runtime.current()
    claim = DeliveryClaim(delivery_id, uuid.UUID(lease_token))
    return webhooks.attempt_claim(rt.engine, webhooks.setup_from(rt.settings), claim)
