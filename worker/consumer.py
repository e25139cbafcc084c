"""Reading resolution events: a consumer group on the stream, replay from the outbox, tail.

The stream delivers at least once: an entry is acknowledged only after the handler returned,
so a consumer that dies leaves its entries pending, and another consumer of the group takes
them over (XAUTOCLAIM) once they have been idle for `reclaim_idle_ms`. The relay may also
publish one event twice. So the same event can arrive more than once; by default the consumer
de-duplicates by the CloudEvents id with a marker per group in Redis:

    before the handler   SET <marker> busy NX PX (2 x reclaim_idle_ms)
                         taken -> handle; "done" -> acknowledge, skip; busy -> leave it pending
    after the handler    SET <marker> done EX dedup_ttl_s, then XACK

A handler call therefore happens once per event id as long as the marker lives, even when a
slow handler's entry is taken over meanwhile (the busy marker outlives the idle time twice).
Two gaps remain: a consumer that dies after the handler's effect but before the "done"
marker, and Redis restarting empty (the markers go with it). Handlers whose effects live in a
database close both by recording the event id in the same transaction as the effect (see
examples/balance_store.py).

Replay reads the outbox in Postgres, which is the record, and feeds the same handler; the
markers make the overlap with the stream harmless.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, Self

import redis
from sqlalchemy import Engine

from worker.replay import MAX_PAGE, events_after
from worker.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedEvent:
    """One event as a handler sees it, from the stream or from a replay."""

    seq: int  # the outbox sequence number: the position to replay after
    event: dict[str, Any]  # the CloudEvent
    entry_id: str | None = None  # the stream entry; None when replayed from the outbox

    @property
    def id(self) -> str:
        return str(self.event["id"])

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.event["data"]
        return data


Handler = Callable[[ReceivedEvent], None]


class Verdict(StrEnum):
    NEW = "new"  # nobody handled it: go ahead
    DONE = "done"  # handled before: skip it
    BUSY = "busy"  # another consumer is handling it right now: leave it


class Deduplicator(Protocol):
    def begin(self, event_id: str) -> Verdict: ...

    def finish(self, event_id: str) -> None: ...

    def abandon(self, event_id: str) -> None: ...


# Delete the busy marker only if it is still ours (a slow handler's marker may have expired
# and been taken by another consumer).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisDeduplicator:
    """Markers `{namespace}:{event_id}` in Redis: "busy:<token>" while handled, then "done"."""

    DONE = b"done"

    def __init__(self, client: redis.Redis, namespace: str, busy_ms: int,
                 done_ttl_s: int) -> None:
        self.client = client
        self.namespace = namespace
        self.busy_ms = busy_ms
        self.done_ttl_s = done_ttl_s
        self._token = f"busy:{os.urandom(8).hex()}"
        self._release = client.register_script(_RELEASE)

    @classmethod
    def for_group(cls, client: redis.Redis, stream: str, group: str, busy_ms: int,
                  done_ttl_s: int | None = None) -> Self:
        ttl = done_ttl_s if done_ttl_s is not None else get_settings().consumer_dedup_ttl_s
        return cls(client, f"{stream}:handled:{group}", busy_ms, ttl)

    def key(self, event_id: str) -> str:
        return f"{self.namespace}:{event_id}"

    def begin(self, event_id: str) -> Verdict:
        key = self.key(event_id)
        if self.client.set(key, self._token, nx=True, px=self.busy_ms):
            return Verdict.NEW
        value = self.client.get(key)
        return Verdict.DONE if _bytes(value) == self.DONE else Verdict.BUSY

    def finish(self, event_id: str) -> None:
        self.client.set(self.key(event_id), self.DONE, ex=self.done_ttl_s)

    def abandon(self, event_id: str) -> None:
        self._release(keys=[self.key(event_id)], args=[self._token])


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    BUSY = "busy"


def handle_once(event: ReceivedEvent, handler: Handler,
                deduplicator: Deduplicator | None) -> Outcome:
    """Call the handler unless the event was handled already; a handler's exception propagates."""
    if deduplicator is None:
        handler(event)
        return Outcome.HANDLED
    verdict = deduplicator.begin(event.id)
    if verdict is Verdict.DONE:
        return Outcome.DUPLICATE
    if verdict is Verdict.BUSY:
        return Outcome.BUSY
    try:
        handler(event)
    except Exception:
        deduplicator.abandon(event.id)  # let a retry try again at once
        raise
    deduplicator.finish(event.id)
    return Outcome.HANDLED


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
        return any(_text(group["name"]) == self.group for group in groups)

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
                            "outbox to recover it", _text(trimmed))
            self.process(claimed)
            start = _text(start_next)
            if start == "0-0":
                return

    def process(self, entries: Iterable[tuple[Any, dict[Any, Any]]]) -> None:
        for entry_id, fields in entries:
            if self.stop.is_set():
                return  # the rest stay pending: redelivered to this name or reclaimed
            self.handle_entry(_text(entry_id), fields)

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
        if outcome is Outcome.BUSY:
            self.stats.busy += 1
            return  # whoever is handling it acknowledges it
        if outcome is Outcome.DUPLICATE:
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
    settings = get_settings()
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


def parse_entry(entry_id: str, fields: dict[Any, Any]) -> ReceivedEvent | None:
    """The event a stream entry carries; None (and a log line) for anything else."""
    if not fields:
        log.warning("entry %s was trimmed from the stream before it was handled; replay from "
                    "the outbox to recover it", entry_id)
        return None
    found = {_text(key): _text(value) for key, value in fields.items()}
    try:
        event = json.loads(found["event"])
        seq = int(found["seq"])
        if not isinstance(event, dict) or "id" not in event:
            raise ValueError("not a CloudEvent")
    except (KeyError, ValueError) as exc:
        log.error("entry %s is not an event (%s); acknowledged and skipped", entry_id, exc)
        return None
    return ReceivedEvent(seq=seq, event=event, entry_id=entry_id)


def outbox_events(engine: Engine, after: int, page: int = MAX_PAGE) -> Iterator[ReceivedEvent]:
    """Every event in the outbox with seq greater than `after`, in order, page by page."""
    while True:
        found = events_after(engine, after, page)
        for record in found:
            yield ReceivedEvent(seq=int(record["seq"]), event=record["event"])
        if len(found) < page:
            return
        after = int(found[-1]["seq"])


def replay(events: Iterable[ReceivedEvent], handler: Handler,
           deduplicator: Deduplicator | None = None) -> int | None:
    """Feed replayed events to the handler in order; return the last seq handled or skipped.

    A handler's exception stops the replay (so a checkpoint never passes an unhandled event).
    """
    last = None
    for event in events:
        handle_once(event, handler, deduplicator)
        last = event.seq
    return last


def tail(client: redis.Redis, stream: str, *, from_start: bool = False, block_ms: int = 1000,
         stop: threading.Event | None = None) -> Iterator[ReceivedEvent]:
    """Events as they arrive (no group, nothing acknowledged), until `stop` is set."""
    stop = stop or threading.Event()
    position = "0-0" if from_start else _last_entry_id(client, stream)
    while not stop.is_set():
        answer: Any = client.xread({stream: position}, count=100, block=block_ms)
        for entry_id, fields in answer[0][1] if answer else []:
            position = _text(entry_id)
            event = parse_entry(position, fields)
            if event is not None:
                yield event


def _last_entry_id(client: redis.Redis, stream: str) -> str:
    # Start after what is there now; unlike "$", nothing arriving between two reads is missed.
    newest = client.xrevrange(stream, count=1)
    return _text(newest[0][0]) if newest else "0-0"


def _bytes(value: Any) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
