"""The drill's wallet: registers every transfer through the acknowledged path and keeps
re-sending until the resolver acknowledges it, as the README tells wallets to.

A registration is `send_task("resolver.register_transfer", queue="resolver.intake")`; its
acknowledgement is the task's reply (`{"ok": true, "id": ...}`) read back from the result
backend. A message lost with Redis, a worker killed before it answered, a Postgres restart
that makes the task retry: each shows up here as no reply in time, and the same payload is sent
again (intake is idempotent on provider and tx_id) under the same task id, so whichever copy
runs first answers, waiting longer each round (`WAITS_S`, as the README's wallet does). Up to
`window` registrations are under way at once; one sent again goes before any new one.

The drill polls each reply (`ready()`) rather than block in `AsyncResult.get()`: with many
registrations under way that is one loop instead of a thread each, and no subscription to each
reply's channel (whose clean-up, after Redis restarted, fills the end of the output with
reconnect errors).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from celery.result import AsyncResult

from resolver_tools.chaos.scenario import Planned

log = logging.getLogger(__name__)

TASK = "resolver.register_transfer"
# How long to wait for the reply to the first send, the second, ...; the last repeats.
WAITS_S = (5.0, 10.0, 20.0, 40.0, 60.0)
QUEUE = "resolver.intake"
WALLET = "chaos-wallet"


@dataclass
class Acknowledged:
    transfer_id: int
    state: str
    created: bool
    sends: int  # how many times this registration was sent before one was acknowledged


@dataclass
class IntakeProgress:
    """Shared with the fault schedule, which fires some faults part-way through intake."""

    total: int
    acknowledged: dict[tuple[str, str], Acknowledged] = field(default_factory=dict)
    refused: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    sends: int = 0
    resends: int = 0
    wallet_errors: int = 0  # the broker or result backend unreachable for a moment
    started_at: float | None = None
    finished_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def fraction(self) -> float:
        return (len(self.acknowledged) + len(self.refused)) / self.total if self.total else 1.0

    @property
    def done(self) -> bool:
        return self.finished_at is not None


def wallet_app(broker_url: str, result_backend: str) -> Celery:
    app = Celery(WALLET, broker=broker_url, backend=result_backend)
    # Fail fast when Redis is away: the loop below waits and sends again by itself.
    app.conf.broker_connection_retry_on_startup = True
    app.conf.task_publish_retry_policy = {"max_retries": 2, "interval_start": 0.1,
                                          "interval_step": 0.2, "interval_max": 0.5}
    app.conf.redis_socket_timeout = 3
    app.conf.redis_socket_connect_timeout = 1
    return app


def register_all(app: Celery, planned: list[Planned], progress: IntakeProgress, *,
                 window: int = 64, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Send every registration and wait for each acknowledgement, re-sending on timeout."""
    waiting: deque[tuple[Planned, int]] = deque((item, 0) for item in planned)
    task_ids = {item.key: str(uuid.uuid4()) for item in planned}
    under_way: dict[str, tuple[Planned, int, AsyncResult, float]] = {}
    progress.started_at = time.monotonic()
    while (waiting or under_way) and not should_stop():
        while waiting and len(under_way) < window:
            item, sends = waiting.popleft()
            try:
                result = app.send_task(TASK, args=[item.transfer.registration()],
                                       kwargs={"by": WALLET}, queue=QUEUE,
                                       task_id=task_ids[item.key])
            except Exception as exc:  # the broker is away: wait a moment, send again
                _wallet_error(progress, exc)
                waiting.appendleft((item, sends))
                time.sleep(0.2)
                break
            with progress.lock:
                progress.sends += 1
                progress.resends += sends > 0
            under_way[result.id] = (item, sends + 1, result, time.monotonic())
        answered = _collect(under_way, waiting, progress)
        if not answered:
            time.sleep(0.1)  # each look is a Redis read per registration under way
    progress.finished_at = time.monotonic()


def _collect(under_way: dict[str, tuple[Planned, int, AsyncResult, float]],
             waiting: deque[tuple[Planned, int]], progress: IntakeProgress) -> int:
    answered = 0
    now = time.monotonic()
    for task_id, (item, sends, result, sent_at) in list(under_way.items()):
        try:
            # ready() reads the reply once and keeps it; .result then needs no second read.
            ready = result.ready()
            value = result.result if ready else None
        except Exception as exc:  # the result backend is away
            _wallet_error(progress, exc)
            ready, value = False, None
        if ready:
            del under_way[task_id]
            answered += 1
            if not _record(item, sends, value, progress):
                # An error the task did not turn into an answer: send again at once.
                waiting.appendleft((item, sends))
        elif now - sent_at > WAITS_S[min(sends, len(WAITS_S)) - 1]:
            # No answer in time: send again next, as a wallet would, before anything new.
            del under_way[task_id]
            waiting.appendleft((item, sends))
    return answered


def _record(item: Planned, sends: int, value: Any, progress: IntakeProgress) -> bool:
    """Keep an answer; False when it is no answer at all (the task raised)."""
    if not isinstance(value, dict):
        log.warning("registration of %s raised %r; sending again", item.key, value)
        return False
    with progress.lock:
        if value.get("ok", "id" in value) is True and "id" in value:
            progress.acknowledged.setdefault(item.key, Acknowledged(
                int(value["id"]), str(value.get("state")), bool(value.get("created")), sends))
        else:
            progress.refused[item.key] = value
    return True


def _wallet_error(progress: IntakeProgress, exc: Exception) -> None:
    with progress.lock:
        progress.wallet_errors += 1
    log.debug("wallet: %s", exc)
