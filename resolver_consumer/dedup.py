"""Acting on each event id once per group: markers in Redis around the handler call."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Protocol, Self

import redis

from resolver_consumer.received import Handler, ReceivedEvent, as_bytes
from resolver_consumer.settings import ConsumerSettings


class Mark(StrEnum):
    NEW = "new"  # nobody handled it: go ahead
    DONE = "done"  # handled before: skip it
    BUSY = "busy"  # another consumer is handling it right now: leave it


class Deduplicator(Protocol):
    def begin(self, event_id: str) -> Mark: ...

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
        ttl = done_ttl_s if done_ttl_s is not None else ConsumerSettings().consumer_dedup_ttl_s
        return cls(client, f"{stream}:handled:{group}", busy_ms, ttl)

    def key(self, event_id: str) -> str:
        return f"{self.namespace}:{event_id}"

    def begin(self, event_id: str) -> Mark:
        key = self.key(event_id)
        if self.client.set(key, self._token, nx=True, px=self.busy_ms):
            return Mark.NEW
        value = self.client.get(key)
        return Mark.DONE if as_bytes(value) == self.DONE else Mark.BUSY

    def finish(self, event_id: str) -> None:
        self.client.set(self.key(event_id), self.DONE, ex=self.done_ttl_s)

    def abandon(self, event_id: str) -> None:
        self._release(keys=[self.key(event_id)], args=[self._token])


class Handling(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    BUSY = "busy"


def handle_once(event: ReceivedEvent, handler: Handler,
                deduplicator: Deduplicator | None) -> Handling:
    """Call the handler unless the event was handled already; a handler's exception propagates."""
    if deduplicator is None:
        handler(event)
        return Handling.HANDLED
    verdict = deduplicator.begin(event.id)
    if verdict is Mark.DONE:
        return Handling.DUPLICATE
    if verdict is Mark.BUSY:
        return Handling.BUSY
    try:
        handler(event)
    except Exception:
        deduplicator.abandon(event.id)  # let a retry try again at once
        raise
    deduplicator.finish(event.id)
    return Handling.HANDLED
