"""Provider calls in flight per instance: a semaphore in Redis, shared by every worker process.

The sweep's `concurrency` counts leased transfers, which is what it may hand out; this counts
calls actually talking to the provider, which is what a slow provider can pile up. A batch of
checks takes one slot per call just before asking and gives them back when its calls are over.

A slot is a member of one sorted set per instance, scored with the time it expires: the call's
deadline plus SLOT_MARGIN_S. Taking a slot drops the expired members, counts the rest and adds
one, in a single Lua script, so two workers can never both take the last slot. A worker that
dies mid-call never gives its slot back; it frees itself when its score passes. Times are the
workers' own clocks (like the breaker's); the margin absorbs the small skew NTP leaves.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import redis

from worker.providers.instance import ProviderInstance

PREFIX = "resolver:inflight"
# Beyond the call's deadline: the watchdog's reaction time, the request building and the
# Redis round trips around the call. A slot must not expire while its call is still running.
SLOT_MARGIN_S = 5.0

# KEYS[1] the instance's set; ARGV: now, limit, expires_at, key lifetime (ms), wanted, call id
# prefix. Takes up to `wanted` slots, named prefix:1, prefix:2...; returns how many it took.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
local taken = math.min(free, tonumber(ARGV[5]))
if taken <= 0 then
    return 0
end
for n = 1, taken do
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[6] .. ':' .. n)
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return taken
"""


class InFlight:
    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time,
                 margin_s: float = SLOT_MARGIN_S) -> None:
        self.redis = client
        self.now = clock
        self.margin_s = margin_s
        self._take = client.register_script(_TAKE)

    def take(self, instance: ProviderInstance, hold_s: float, wanted: int = 1) -> list[str]:
        """Up to `wanted` slots for calls of at most `hold_s` seconds; none when all are taken."""
        batch_id = uuid.uuid4().hex
        lifetime_s = hold_s + self.margin_s
        now = self.now()
        taken = self._take(
            keys=[key(instance.name)],
            args=[repr(now), instance.policy.concurrency, repr(now + lifetime_s),
                  int(lifetime_s * 1000) + 1000, wanted, batch_id],
        )
        return [f"{batch_id}:{n}" for n in range(1, int(taken) + 1)]

    def give_back(self, instance: ProviderInstance, *call_ids: str) -> None:
        if call_ids:
            self.redis.zrem(key(instance.name), *call_ids)

    def key_of(self, instance: ProviderInstance) -> str:
        return key(instance.name)

    def count(self, instance: ProviderInstance) -> int:
        """Slots held now (expired ones not counted)."""
        return int(self.redis.zcount(key(instance.name), f"({self.now()!r}", "+inf"))


def key(name: str) -> str:
    return f"{PREFIX}:{name}"
