"""Per-instance rate limit, circuit breaker and calls in flight, shared by every worker process
through Redis.

Rate limit: a fixed window counter per instance. Circuit breaker: after `breaker_threshold`
transport errors in a row (connection errors, timeouts, 5xx) the instance is open for
`breaker_cooldown`; then one probe may go through (whoever takes the probe key first); a good
answer closes the breaker, another failure opens it again. Neither says anything about a
transfer: a refused check is simply put off, and does not count as an attempt.

Calls in flight (worker.inflight): `enter` takes one of the instance's `concurrency` slots
just around the provider call, `leave` gives it back. No slot free: the check is put off for
SLOT_WAIT_S, like a rate-limited one.

If Redis cannot be reached the guard lets the check through: the provider's own rate limit
answer (RATE_LIMITED) is the backstop, and a transfer is never held back by our bookkeeping.
The same holds for the in-flight slots: without Redis only the sweep's lease count (one
process's view of Postgres) bounds the calls of an instance, and a warning says so.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from worker.inflight import InFlight
from worker.providers.instance import ProviderInstance

log = logging.getLogger(__name__)
PREFIX = "resolver"
SLOT_WAIT_S = 1.0  # how long a check waits for a call slot of its instance to free up


@dataclass(frozen=True)
class Permission:
    allowed: bool
    wait_s: float = 0.0
    reason: str | None = None
    slot: str | None = None  # the in-flight slot taken by `Guard.enter`, to give back


class Guard:
    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.now = clock
        self.in_flight = InFlight(client, clock)

    def acquire(self, instance: ProviderInstance) -> Permission:
        try:
            breaker = self._breaker_allows(instance)
            if not breaker.allowed:
                return breaker
            return self._rate_allows(instance)
        except redis.RedisError as exc:
            log.warning("throttle unavailable, letting the check through: %s", exc)
            return Permission(True)

    def enter(self, instance: ProviderInstance, hold_s: float) -> Permission:
        """One of the instance's call slots, for a call of at most `hold_s` seconds."""
        try:
            slot = self.in_flight.take(instance, hold_s)
        except redis.RedisError as exc:
            log.warning("in-flight slots unavailable, letting the call through: %s", exc)
            return Permission(True)
        if slot is None:
            return Permission(False, SLOT_WAIT_S, f"all {instance.policy.concurrency} call slots "
                                                  f"of the instance are in use")
        return Permission(True, slot=slot)

    def leave(self, instance: ProviderInstance, permission: Permission) -> None:
        if permission.slot is None:
            return
        try:
            self.in_flight.give_back(instance, permission.slot)
        except redis.RedisError as exc:
            log.warning("in-flight slot not given back, it frees itself at its expiry: %s", exc)

    def record(self, instance: ProviderInstance, transport_error: bool) -> None:
        keys = _keys(instance.name)
        try:
            if not transport_error:
                self.redis.delete(keys["failures"], keys["open_until"], keys["probe"])
                return
            failures = int(self.redis.incr(keys["failures"]))
            self.redis.expire(keys["failures"], 3600)
            if failures >= instance.policy.breaker_threshold:
                cooldown = instance.policy.breaker_cooldown.total_seconds()
                self.redis.set(keys["open_until"], self.now() + cooldown, ex=3600)
                self.redis.delete(keys["probe"])
        except redis.RedisError as exc:
            log.warning("throttle unavailable, breaker not updated: %s", exc)

    def _breaker_allows(self, instance: ProviderInstance) -> Permission:
        keys = _keys(instance.name)
        open_until = self.redis.get(keys["open_until"])
        if open_until is None:
            return Permission(True)
        remaining = float(open_until) - self.now()
        if remaining > 0:
            return Permission(False, remaining, "circuit open after repeated transport errors")
        # Cooldown over: one probe at a time until an answer closes or re-opens the breaker.
        cooldown = instance.policy.breaker_cooldown.total_seconds()
        if self.redis.set(keys["probe"], "1", nx=True, px=max(1, int(cooldown * 1000))):
            return Permission(True)
        return Permission(False, cooldown, "circuit half-open: a probe is under way")

    def _rate_allows(self, instance: ProviderInstance) -> Permission:
        rate = instance.policy.rate_limit_per_s
        window = max(1.0, 1.0 / rate)  # slow rates get a longer window holding one call
        allowance = max(1, math.floor(rate * window))
        now = self.now()
        slot = int(now // window)
        key = f"{PREFIX}:rate:{instance.name}:{slot}"
        used = int(self.redis.incr(key))
        if used == 1:
            self.redis.expire(key, int(window) + 2)
        if used <= allowance:
            return Permission(True)
        return Permission(False, (slot + 1) * window - now, "over the instance's rate limit")


def _keys(name: str) -> dict[str, str]:
    return {
        "failures": f"{PREFIX}:breaker:{name}:failures",
        "open_until": f"{PREFIX}:breaker:{name}:open_until",
        "probe": f"{PREFIX}:breaker:{name}:probe",
    }
