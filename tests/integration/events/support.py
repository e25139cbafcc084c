"""Builders for the event tests: settle transfers through the engine, publish, run consumers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import OutboxEvent, Transfer
from resolver_consumer import ConsumeStats, consume
from tests.integration.support import register
from worker.domain.types import Outcome
from worker.engine.check.batch import NoGuard, run_check
from worker.engine.relay import publish
from worker.engine.sweep.due import claim_due
from worker.process.db import transaction
from worker.process.runtime import Runtime
from worker.providers.scripted import SCRIPTS


def settle(runtime: Runtime, outcomes: dict[str, Outcome]) -> None:
    """Register one transfer per tx id and run one check, answered by the scripted provider."""
    for tx_id, outcome in outcomes.items():
        register(runtime, tx_id=tx_id)
        SCRIPTS.load("scripted-a", tx_id, [outcome])
    check_due(runtime)


def check_due(runtime: Runtime) -> None:
    """One check of every due transfer, answered by what the scripted provider was given."""
    for claim in claim_due(runtime.engine, runtime.providers["scripted-a"], datetime.now(UTC),
                           timedelta(seconds=30), 100):
        run_check(runtime.engine, runtime.providers, claim.transfer_id, claim.lease_token,
                  runtime.adapter_for, NoGuard())


def relay_now(runtime: Runtime) -> int:
    return publish.relay(runtime.engine, runtime.redis, runtime.settings.events_stream, 1000, 1000)


def outbox(runtime: Runtime) -> list[OutboxEvent]:
    with transaction(runtime.engine) as session:
        return list(session.execute(select(OutboxEvent).order_by(OutboxEvent.seq)).scalars())


def transfer_id(runtime: Runtime, tx_id: str) -> int:
    with transaction(runtime.engine) as session:
        return int(session.execute(
            select(Transfer.id).where(Transfer.tx_id == tx_id)).scalar_one())


def republish(runtime: Runtime, event: OutboxEvent) -> None:
    """What a relay that crashed after XADD and before marking leaves: the event once more."""
    runtime.redis.xadd(runtime.settings.events_stream, publish.stream_fields(
        event.seq, event.id, event.type, event.transfer_id, event.payload))


def pending_count(runtime: Runtime, group: str) -> int:
    return int(runtime.redis.xpending(runtime.settings.events_stream, group)["pending"])


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class BackgroundConsumer:
    """consume() on a thread, stopped by the test once it has seen what it waited for."""

    def __init__(self, runtime: Runtime, group: str, handler: Callable[..., None],
                 **options: Any) -> None:
        self.stop = threading.Event()
        self.stats: ConsumeStats | None = None
        self.error: BaseException | None = None
        options = {"client": runtime.redis, "stream": runtime.settings.events_stream,
                   "block_ms": 50,
                   "reclaim_idle_ms": 300, **options}

        def run() -> None:
            try:
                self.stats = consume(group, handler, stop_event=self.stop, **options)
            except BaseException as exc:  # reported by finish()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)

    def __enter__(self) -> BackgroundConsumer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.finish()

    def finish(self) -> ConsumeStats:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the consumer did not stop"
        if self.error is not None:
            raise self.error
        assert self.stats is not None
        return self.stats
