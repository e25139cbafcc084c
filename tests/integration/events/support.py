"""Builders for the event tests: settle transfers through the engine, publish, run consumers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import OutboxEvent, Transfer
from tests.integration.helpers import register
from worker import relay
from worker.check import NoGuard, run_check
from worker.consumer import ConsumeStats, consume
from worker.db import transaction
from worker.domain.types import Outcome
from worker.providers.scripted import SCRIPTS
from worker.runtime import Runtime
from worker.sweep import claim_due


def settle(rt: Runtime, outcomes: dict[str, Outcome]) -> None:
    """Register one transfer per tx id and run one check, answered by the scripted provider."""
    for tx_id, outcome in outcomes.items():
        register(rt, tx_id=tx_id)
        SCRIPTS.load("scripted-a", tx_id, [outcome])
    check_due(rt)


def check_due(rt: Runtime) -> None:
    """One check of every due transfer, answered by what the scripted provider was given."""
    for claim in claim_due(rt.engine, rt.providers["scripted-a"], datetime.now(UTC),
                           timedelta(seconds=30), 100):
        run_check(rt.engine, rt.providers, claim.transfer_id, claim.lease_token,
                  rt.adapter_for, NoGuard())


def publish(rt: Runtime) -> int:
    return relay.relay(rt.engine, rt.redis, rt.settings.events_stream, 1000, 1000)


def outbox(rt: Runtime) -> list[OutboxEvent]:
    with transaction(rt.engine) as session:
        return list(session.execute(select(OutboxEvent).order_by(OutboxEvent.seq)).scalars())


def transfer_id(rt: Runtime, tx_id: str) -> int:
    with transaction(rt.engine) as session:
        return int(session.execute(
            select(Transfer.id).where(Transfer.tx_id == tx_id)).scalar_one())


def republish(rt: Runtime, event: OutboxEvent) -> None:
    """What a relay that crashed after XADD and before marking leaves: the event once more."""
    rt.redis.xadd(rt.settings.events_stream, relay.stream_fields(
        event.seq, event.id, event.type, event.transfer_id, event.payload))


def pending_count(rt: Runtime, group: str) -> int:
    return int(rt.redis.xpending(rt.settings.events_stream, group)["pending"])


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class BackgroundConsumer:
    """consume() on a thread, stopped by the test once it has seen what it waited for."""

    def __init__(self, rt: Runtime, group: str, handler: Callable[..., None],
                 **options: Any) -> None:
        self.stop = threading.Event()
        self.stats: ConsumeStats | None = None
        self.error: BaseException | None = None
        options = {"client": rt.redis, "stream": rt.settings.events_stream, "block_ms": 50,
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
