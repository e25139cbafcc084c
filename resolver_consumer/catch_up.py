"""Reading what the stream no longer has: replay from the outbox, and tail."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

import redis
from sqlalchemy import Engine

from resolver_consumer.dedup import Deduplicator, handle_once
from resolver_consumer.outbox import MAX_PAGE, events_after
from resolver_consumer.received import Handler, ReceivedEvent, as_text, parse_entry


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
            position = as_text(entry_id)
            event = parse_entry(position, fields)
            if event is not None:
                yield event


def _last_entry_id(client: redis.Redis, stream: str) -> str:
    # Start after what is there now; unlike "$", nothing arriving between two reads is missed.
    newest = client.xrevrange(stream, count=1)
    return as_text(newest[0][0]) if newest else "0-0"
