"""A consumer in a consumer group: read, handle, acknowledge, take over the dead's entries."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis

from resolver_consumer.dedup import Deduplicator, Handling, RedisDeduplicator, handle_once
from resolver_consumer.received import Handler, as_text, parse_entry
from resolver_consumer.settings import ConsumerSettings

log = logging.getLogger(__name__)


@dataclass
class ConsumeStats:
    handled: int = 0
    duplicates: int = 0
    busy: int = 0  # left pending because another consumer was handling them
    failed: int = 0  # the handler raised; left pending, retried after reclaim_idle_ms
    unreadable: int = 0  # trimmed away or not an event: acknowledged, logged
    reclaimed: int = 0  # taken over from consumers that stopped acknowledging


class GroupConsumer:
    """One consumer of a group: reads, hands each event over once, acknowledges after."""

    def __init__(self, client: redis.Redis, stream: str, group: str, consumer: str,
                 handler: Handler, deduplicator: Deduplicator | None, *, block_ms: int,
                 batch: int, reclaim_idle_ms: int, stop: threading.Event,
                 on_missing_group: Callable[[], None] | None = None) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.handler = handler
        self.deduplicator = deduplicator
        self.block_ms = block_ms
        self.batch = batch
        self.reclaim_idle_ms = reclaim_idle_ms
        self.stop = stop
        self.on_missing_group = on_missing_group
        self.stats = ConsumeStats()

    def run(self) -> ConsumeStats:
        started = False
        next_reclaim = 0.0
        failures = 0
        while not self.stop.is_set():
            try:
                if not started:
                    self.ensure_group()
                    # Entries this consumer name was given in an earlier life, never acknowledged.
                    self.process(self.read("0"))
                    started = True
                if time.monotonic() >= next_reclaim:
                    self.reclaim()
                    next_reclaim = time.monotonic() + self.reclaim_idle_ms / 2000
                self.process(self.read(">"))
                failures = 0
            except redis.ResponseError as exc:
                # NOGROUP: the group is gone; UNBLOCKED: the stream was deleted while we waited.
                if not str(exc).startswith(("NOGROUP", "UNBLOCKED")):
                    raise
                self.group_lost()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("consumer %s: Redis unreachable (%s); retrying in %.1fs",
                            self.consumer, exc, delay)
                self.stop.wait(delay)
        self.leave_group()
        return self.stats

    def ensure_group(self) -> None:
        """Create the group if missing, reading from the oldest entry still in the stream.

        `on_missing_group` runs before the group is created: if it fails (say, the catch-up
        replay could not reach the database), the group stays missing and the next start
        runs it again, rather than the gap being forgotten.
        """
        if self.group_exists():
            return
        if self.on_missing_group is not None:
            self.on_missing_group()
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):  # another consumer created it meanwhile: fine
                raise
            return
        log.info("consumer group %s created on %s", self.group, self.stream)

    def group_exists(self) -> bool:
        try:
            groups = self.client.xinfo_groups(self.stream)
        except redis.ResponseError:
            return False  # no stream at all
        return any(as_text(group["name"]) == self.group for group in groups)

    def group_lost(self) -> None:
        # The stream or the group vanished while we ran: Redis restarted empty or was flushed.
        # Events published before that are only in the outbox now: replay after the last seq.
        log.warning("consumer group %s on %s is gone (Redis restarted empty?); recreating it. "
                    "Replay from the outbox after your last handled seq to fill the gap.",
                    self.group, self.stream)
        self.ensure_group()

    def read(self, position: str) -> list[tuple[Any, dict[Any, Any]]]:
        block = self.block_ms if position == ">" else None
        # Typed as Any: redis-py's declared result covers RESP3 shapes this client never gets.
        answer: Any = self.client.xreadgroup(self.group, self.consumer,
                                             {self.stream: position}, count=self.batch,
                                             block=block)
        return list(answer[0][1]) if answer else []

    def reclaim(self) -> None:
        start = "0-0"
        while not self.stop.is_set():
            claim: Any = self.client.xautoclaim(
                self.stream, self.group, self.consumer, self.reclaim_idle_ms, start,
                count=self.batch)
            start_next, claimed, *rest = claim
            if claimed:
                self.stats.reclaimed += len(claimed)
                log.info("consumer %s took over %d idle entries", self.consumer, len(claimed))
            for trimmed in rest[0] if rest else []:
                # Pending but no longer in the stream (trimmed): only the outbox has it now.
                self.stats.unreadable += 1
                log.warning("entry %s was trimmed before it was acknowledged; replay from the "
                            "outbox to recover it", as_text(trimmed))
            self.process(claimed)
            start = as_text(start_next)
            if start == "0-0":
                return

    def process(self, entries: Iterable[tuple[Any, dict[Any, Any]]]) -> None:
        for entry_id, fields in entries:
            if self.stop.is_set():
                return  # the rest stay pending: redelivered to this name or reclaimed
            self.handle_entry(as_text(entry_id), fields)

    def handle_entry(self, entry_id: str, fields: dict[Any, Any]) -> None:
        event = parse_entry(entry_id, fields)
        if event is None:
            self.stats.unreadable += 1
            self.ack(entry_id)
            return
        try:
            outcome = handle_once(event, self.handler, self.deduplicator)
        except Exception:
            self.stats.failed += 1
            log.exception("handler failed on event %s (seq %s); it stays pending and is retried "
                          "after %d ms", event.id, event.seq, self.reclaim_idle_ms)
            return
        if outcome is Handling.BUSY:
            self.stats.busy += 1
            return  # whoever is handling it acknowledges it
        if outcome is Handling.DUPLICATE:
            self.stats.duplicates += 1
        else:
            self.stats.handled += 1
        self.ack(entry_id)

    def ack(self, entry_id: str) -> None:
        self.client.xack(self.stream, self.group, entry_id)

    def leave_group(self) -> None:
        """Remove this consumer name from the group, unless entries are still pending on it."""
        try:
            mine = self.client.xpending_range(self.stream, self.group, min="-", max="+",
                                              count=1, consumername=self.consumer)
            if not mine:
                self.client.xgroup_delconsumer(self.stream, self.group, self.consumer)
        except redis.RedisError as exc:
            log.info("consumer %s: could not leave the group cleanly: %s", self.consumer, exc)


def consume(group: str, handler: Handler, *, consumer: str | None = None,
            client: redis.Redis | None = None, stream: str | None = None,
            block_ms: int | None = None, batch: int | None = None,
            reclaim_idle_ms: int | None = None, stop_event: threading.Event | None = None,
            deduplicate: bool = True, deduplicator: Deduplicator | None = None,
            on_missing_group: Callable[[], None] | None = None) -> ConsumeStats:
    """Handle every event of the stream as a member of consumer group `group`, until stopped.

    Returns when `stop_event` is set (after finishing the event in hand). Defaults come from
    the RESOLVER_CONSUMER_* settings. `reclaim_idle_ms` must exceed the slowest handler call:
    entries idle that long are taken over by another consumer. `on_missing_group` runs when
    the group does not exist (first start, or Redis lost it), before it is created: the place
    to replay from the outbox after your checkpoint.
    """
    settings = ConsumerSettings()
    block_ms = block_ms if block_ms is not None else settings.consumer_block_ms
    reclaim_idle_ms = (reclaim_idle_ms if reclaim_idle_ms is not None
                       else settings.consumer_reclaim_idle_ms)
    stream = stream or settings.events_stream
    client = client or redis.Redis.from_url(
        settings.redis_url, socket_timeout=block_ms / 1000 + 10, socket_connect_timeout=3)
    if deduplicator is None and deduplicate:
        # The busy marker outlives the idle time twice, so a handler call slower than
        # reclaim_idle_ms is not started again by the consumer that takes its entry over.
        deduplicator = RedisDeduplicator.for_group(client, stream, group, 2 * reclaim_idle_ms)
    reader = GroupConsumer(
        client, stream, group, consumer or default_consumer_name(), handler,
        deduplicator if deduplicate else None,
        block_ms=block_ms, batch=batch or settings.consumer_batch,
        reclaim_idle_ms=reclaim_idle_ms, stop=stop_event or threading.Event(),
        on_missing_group=on_missing_group,
    )
    return reader.run()


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def stop_on_signals(*signums: int) -> threading.Event:
    """An event set by SIGTERM and SIGINT (or the given signals): pass it as `stop_event`.

    Installs the handlers, so call it from the main thread.
    """
    stop = threading.Event()
    for signum in signums or (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop
