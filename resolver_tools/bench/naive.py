"""Naive Celery: the design most teams write first, written fairly, to measure ours against.

One task per transfer. Each run opens its own sessions, reads the transfer, asks the provider
with the same adapter the resolver uses, and records the answer as a check row; a final answer
resolves the transfer through `worker.engine.resolve.resolution.resolve` (the same state change,
ledger postings and event, in one transaction, under a row lock), anything else retries the task
in 0.2 s with `self.retry(countdown=0.2)`, the resolver's own re-check interval in the
benchmark.

Run by real worker processes with the same processes and threads as the resolver:
`celery -A resolver_tools.bench.naive worker --pool threads --concurrency T`. Celery's defaults
otherwise; the broker is the resolver's Redis database.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from celery import Celery, Task
from celery.signals import worker_init
from sqlalchemy import select

from models import Transfer
from resolver_tools.bench import statements
from worker.domain.types import Outcome, State
from worker.engine.check.batch import (  # the resolver's own check row, so rows compare
    _check_row,
    to_ref,
)
from worker.engine.resolve.resolution import resolve
from worker.process.db import transaction
from worker.process.runtime import current_runtime
from worker.process.settings import get_settings

ACTOR = "naive-celery"
TASK = "bench.naive_check"
RETRY_S = 0.2
FINAL = {Outcome.SUCCEEDED: State.SUCCEEDED, Outcome.FAILED: State.FAILED}

settings = get_settings()
app = Celery("bench-naive", broker=settings.broker)
app.conf.update(task_ignore_result=True, task_serializer="json", accept_content=["json"],
                worker_pool="threads", broker_connection_retry_on_startup=True,
                timezone="UTC")
# Counted in the worker processes only, not in a process that merely sends the tasks.
worker_init.connect(lambda **_: statements.install(settings.redis_url), weak=False)


@app.task(name=TASK, bind=True, max_retries=None)
def naive_check(self: Task, transfer_id: int) -> str:
    runtime = current_runtime()
    with transaction(runtime.engine) as session:
        transfer = session.get(Transfer, transfer_id)
        if transfer is None or transfer.state != State.PENDING:
            return "done"
        ref = to_ref(transfer)
    instance = runtime.providers[ref.provider]
    started_at = datetime.now(UTC)
    result = runtime.adapter_for(instance).check(ref)
    now = datetime.now(UTC)
    with transaction(runtime.engine) as session:
        transfer = session.execute(
            select(Transfer).where(Transfer.id == transfer_id).with_for_update()).scalar_one()
        pending = transfer.state == State.PENDING
        session.add(_check_row(transfer_id, result, now, applied=pending, started_at=started_at))
        if not pending:
            return "done"
        transfer.attempts += 1
        transfer.last_outcome = result.outcome.value
        transfer.last_checked_at = now
        final = FINAL.get(result.outcome)
        if final is not None:
            resolve(session, transfer, final, by=ACTOR, reason=result.outcome.value, now=now)
            return "resolved"
    raise self.retry(countdown=RETRY_S)


def send_all(broker_url: str, transfer_ids: list[int],
             due_at: list[float] | None = None) -> None:
    """One message per transfer, all over one connection: the naive design's intake. With
    `due_at` (monotonic instants, in the order of the ids), each is sent as its transfer falls
    due, as a wallet's notice would arrive; an ETA or countdown instead would have the worker
    hold every future task in memory from the start, which the steady run's memory figures
    would then charge to the design. Sent through a client of the given broker, not this
    module's app, whose broker is whatever the sending process's settings say."""
    client = Celery("bench-naive-sender", broker=broker_url)
    with client.producer_or_acquire() as producer:
        for n, transfer_id in enumerate(transfer_ids):
            if due_at is not None:
                time.sleep(max(0.0, due_at[n] - time.monotonic()))
            client.send_task(TASK, args=(transfer_id,), producer=producer)
