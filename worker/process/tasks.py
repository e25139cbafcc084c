"""Celery tasks: thin wrappers that hand each message to the engine's functions.

Names are public: the operator's wallet calls `send_task("resolver.register_transfer", ...,
queue="resolver.intake")` without importing this project, and waits for the intake task's reply
(worker.engine.intake.replies). Every task is safe to run twice.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from worker.engine.check.batch import CheckEnd, run_batch, run_check
from worker.engine.intake import replies, service
from worker.engine.relay import publish
from worker.engine.sweep import due
from worker.metrics import engine as metrics
from worker.process import heartbeat, logs
from worker.process.celery_app import DEFAULT_QUEUE, app
from worker.process.runtime import current_runtime
from worker.webhooks import runner as webhooks
from worker.webhooks.claims import DeliveryClaim

log = logs.get(__name__)

# Intake must not lose a transfer while Postgres is briefly away: retry, with backoff. The
# wallet hears nothing until the row is committed; if it gives up waiting it sends again, which
# is safe because intake is idempotent. Unlike every other task, intake keeps its result: the
# reply (worker.engine.intake.replies) is how the wallet learns its transfer is recorded or refused.
_INTAKE: dict[str, Any] = {
    "ignore_result": False,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 30,
}


@app.task(name="resolver.register_transfer", **_INTAKE)
def register_transfer(payload: dict[str, Any], by: str = "wallet") -> dict[str, Any]:
    return replies.answer(service.register, current_runtime(), payload, by=by)


@app.task(name="resolver.begin_transfer", **_INTAKE)
def begin_transfer(payload: dict[str, Any], deadline_s: float | None = None,
                   by: str = "wallet") -> dict[str, Any]:
    return replies.answer(service.begin, current_runtime(), payload, by=by,
                          deadline_s=deadline_s)


@app.task(name="resolver.complete_transfer", **_INTAKE)
def complete_transfer(provider: str, tx_id: str, outcome: str,
                      by: str = "wallet") -> dict[str, Any]:
    return replies.answer(service.complete, current_runtime(), provider, tx_id, outcome, by=by)


@app.task(name="resolver.sweep")
def sweep_due() -> dict[str, int]:
    runtime = current_runtime()
    now = datetime.now(UTC)
    started = time.perf_counter()
    counts = due.sweep(
        runtime.engine,
        runtime.providers,
        now,
        lease=timedelta(seconds=runtime.settings.lease_s),
        limit=runtime.settings.sweep_limit,
        dispatch=dispatch_checks,
    )
    heartbeat.beat(runtime.redis, heartbeat.SWEEP, now)
    metrics.count_sweep(time.perf_counter() - started,
                        {name: counts.get(name, 0) for name in runtime.providers}, time.time())
    return counts


def dispatch_checks(claims: list[due.Claim]) -> None:
    """Send the claims as batches of `check_batch`, one message each, over one connection.

    A message carries its claims' snapshots (worker.engine.sweep.due.Claim), so its check reads
    nothing before asking the provider.
    """
    settings = current_runtime().settings
    size = settings.check_batch
    with app.producer_or_acquire() as producer:
        for start in range(0, len(claims), size):
            batch = claims[start:start + size]
            check_batch.apply_async(
                args=(batch[0].provider, str(batch[0].lease_token),
                      [claim.to_message() for claim in batch]),
                producer=producer,
                # Past its lease a check message is stale: the sweep will claim anew.
                expires=settings.lease_s,
            )


# A batch that finishes does not wait for the next sweep: it claims the instance's next due
# transfers itself (same lease rules, same concurrency cap), for a bounded time, and only while
# no check message waits in the queue: the sweep's claims are leased already, and would wait
# behind threads busy following up (the steady benchmark's lag showed 2-3 s spikes so).
FOLLOW_UP_SECONDS = 20.0


def checks_waiting() -> int:
    """Check messages waiting in the broker's default queue (0 if it cannot say)."""
    try:
        with app.connection_or_acquire() as connection:
            return int(connection.default_channel.queue_declare(
                DEFAULT_QUEUE, passive=True).message_count)
    except Exception as exc:  # the broker's trouble is the sweep's to meet, not this loop's
        log.debug("could not count waiting check messages", error=str(exc))
        return 0


@app.task(name="resolver.check_batch")
def check_batch(provider: str, lease_token: str, claims: list[dict[str, Any]]) -> dict[str, int]:
    runtime = current_runtime()
    token = uuid.UUID(lease_token)
    batch = [due.Claim.from_message(provider, token, row) for row in claims]
    tally: Counter[str] = Counter()
    instance = runtime.providers.get(provider)
    lease = timedelta(seconds=runtime.settings.lease_s)
    stop_at = time.monotonic() + FOLLOW_UP_SECONDS
    while batch:
        done = run_batch(runtime.engine, runtime.providers, batch, runtime.adapter_for,
                         runtime.guard,
                         calls=runtime.calls)
        tally.update(done.values())
        if instance is None or CheckEnd.DEFERRED in done.values() or time.monotonic() > stop_at:
            break  # rate limit, breaker or slots said not now: let the schedule wait
        if checks_waiting():
            break  # claimed transfers wait in the queue: take them first
        batch = due.claim_due(runtime.engine, instance, datetime.now(UTC), lease,
                              limit=runtime.settings.check_batch)
    log.info("check batch done", provider=provider, **dict(sorted(tally.items())))
    return dict(tally)


@app.task(name="resolver.check_transfer")
def check_transfer(transfer_id: int, lease_token: str, provider: str | None = None) -> str:
    """One transfer's check, as releases before batches sent it: still honoured on upgrade."""
    runtime = current_runtime()
    done = run_check(runtime.engine, runtime.providers, transfer_id, uuid.UUID(lease_token),
                     runtime.adapter_for, runtime.guard)
    return done.value


@app.task(name="resolver.relay_events")
def relay_events() -> int:
    runtime = current_runtime()
    return publish.relay(runtime.engine, runtime.redis, runtime.settings.events_stream,
                         runtime.settings.stream_maxlen, runtime.settings.relay_batch)


@app.task(name="resolver.deliver_webhooks")
def deliver_webhooks() -> dict[str, int]:
    runtime = current_runtime()
    return webhooks.run_once(runtime.engine, webhooks.setup_from(runtime.settings),
                             dispatch=dispatch_webhooks)


def dispatch_webhooks(claims: list[DeliveryClaim]) -> None:
    lease_s = current_runtime().settings.webhook_lease_s
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
    runtime = current_runtime()
    claim = DeliveryClaim(delivery_id, uuid.UUID(lease_token))
    return webhooks.attempt_claim(runtime.engine, webhooks.setup_from(runtime.settings), claim)
