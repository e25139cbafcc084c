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

from resolver_consumer.catch_up import outbox_events, replay, tail
from resolver_consumer.dedup import Deduplicator, Handling, Mark, RedisDeduplicator, handle_once
from resolver_consumer.group import (
    ConsumeStats,
    GroupConsumer,
    consume,
    default_consumer_name,
    stop_on_signals,
)
from resolver_consumer.received import Handler, ReceivedEvent, parse_entry

__all__ = [
    "ConsumeStats",
    "Deduplicator",
    "GroupConsumer",
    "Handler",
    "Handling",
    "Mark",
    "ReceivedEvent",
    "RedisDeduplicator",
    "consume",
    "default_consumer_name",
    "handle_once",
    "outbox_events",
    "parse_entry",
    "replay",
    "stop_on_signals",
    "tail",
]
