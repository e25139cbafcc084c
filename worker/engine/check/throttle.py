"""Per-instance rate limit, circuit breaker and calls in flight, shared by every worker process
through Redis, and paid once per batch of checks rather than once per check.

Rate limit: a fixed window counter per instance. Circuit breaker: after `breaker_threshold`
transport errors in a row (connection errors, timeouts, 5xx) the instance is open for
`breaker_cooldown`; then one probe may go through (whoever takes the probe key first); a good
answer closes the breaker, another failure opens it again. Neither says anything about a
transfer: a check that is not admitted is simply put off, and does not count as an attempt.

Calls in flight (worker.engine.check.inflight): a batch takes up to one slot per call before
asking, and gives them all back when its calls are over. No slot free: the batch is put off for
SLOT_WAIT_S, like a rate-limited one.

A batch costs three Redis round trips whatever its size: its slots (one script), the breaker
and the rate window (one script, so two workers never both spend the last of a window or both
take the probe), and settling (one script giving the slots back and updating the breaker).

If Redis cannot be reached the guard lets the checks through: the provider's own rate limit
answer (RATE_LIMITED) is the backstop, and a transfer is never held back by our bookkeeping.
The same holds for the in-flight slots: without Redis only the sweep's lease count (one
process's view of Postgres) bounds the calls of an instance, and a warning says so.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from worker.engine.check.inflight import InFlight
from worker.providers.instance import ProviderInstance

log = logging.getLogger(__name__)
PREFIX = "resolver"
SLOT_WAIT_S = 1.0  # how long a check waits for a call slot of its instance to free up
OVER_RATE = "over the instance's rate limit"  # the refusal's reason: counted as rate limited

# Breaker first, then the rate window. KEYS: open_until, probe, rate window.
# ARGV: now, wanted, allowance, window lifetime (s), probe lifetime (ms).
# Returns {granted, why the rest were refused, open_until}: why is "" (nothing refused), "open",
# "half_open" or "rate". While half open, only the one probe is granted.
_ADMIT = """
local now = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local open_until = redis.call('GET', KEYS[1])
local limit_why = ''
if open_until then
    if tonumber(open_until) > now then
        return {0, 'open', open_until}
    end
    if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[5]) then
        return {0, 'half_open', open_until}
    end
    if wanted > 1 then
        wanted = 1
        limit_why = 'half_open'
    end
end
local used = tonumber(redis.call('GET', KEYS[3]) or '0')
local left = tonumber(ARGV[3]) - used
if left <= 0 then
    return {0, 'rate', ''}
end
local granted = math.min(wanted, left)
redis.call('INCRBY', KEYS[3], granted)
redis.call('EXPIRE', KEYS[3], ARGV[4])
if granted < tonumber(ARGV[2]) and limit_why == '' then
    limit_why = 'rate'
end
return {granted, limit_why, ''}
"""

# The batch's calls are over: give back its slots and move the breaker. KEYS: failures,
# open_until, probe, the instance's in-flight set. ARGV: reset (1 when a call got an answer),
# errors after the last answer, threshold, open until, then the slots to give back.
_SETTLE = """
if #ARGV > 4 then
    redis.call('ZREM', KEYS[4], unpack(ARGV, 5))
end
if ARGV[1] == '1' then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
local errors = tonumber(ARGV[2])
if errors > 0 then
    local failures = redis.call('INCRBY', KEYS[1], errors)
    redis.call('EXPIRE', KEYS[1], 3600)
    if failures >= tonumber(ARGV[3]) then
        redis.call('SET', KEYS[2], ARGV[4], 'EX', 3600)
        redis.call('DEL', KEYS[3])
    end
end
return 1
"""


@dataclass(frozen=True)
class Permission:
    """Why checks may not ask now, and how long to put them off."""

    allowed: bool
    wait_s: float = 0.0
    reason: str | None = None


@dataclass(frozen=True)
class Admission:
    """How many of a batch's checks may ask the provider now, and the slots their calls hold.

    The first `granted` checks of the batch ask; the others are put off as `refusal` says.
    """

    granted: int
    slots: tuple[str, ...] = ()
    refusal: Permission | None = None


class Throttle:
    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.now = clock
        self.in_flight = InFlight(client, clock)
        self._admit = client.register_script(_ADMIT)
        self._settle = client.register_script(_SETTLE)

    def admit(self, instance: ProviderInstance, wanted: int, hold_s: float) -> Admission:
        """Room for up to `wanted` calls of at most `hold_s` seconds each, as one decision."""
        try:
            slots = self.in_flight.take(instance, hold_s, wanted)
            if not slots:
                return Admission(0, (), Permission(
                    False, SLOT_WAIT_S,
                    f"all {instance.policy.concurrency} call slots of the instance are in use"))
            granted, refusal = self._breaker_and_rate(instance, len(slots))
        except redis.RedisError as exc:
            log.warning("throttle unavailable, letting the checks through: %s", exc)
            return Admission(wanted)
        if granted < len(slots):
            self._give_back(instance, slots[granted:])
        if granted < wanted and refusal is None:
            refusal = Permission(False, SLOT_WAIT_S, f"all {instance.policy.concurrency} call "
                                                     f"slots of the instance are in use")
        return Admission(granted, tuple(slots[:granted]), refusal)

    def _give_back(self, instance: ProviderInstance, slots: Sequence[str]) -> None:
        try:
            self.in_flight.give_back(instance, *slots)
        except redis.RedisError as exc:
            log.warning("in-flight slots not given back, they free themselves at their "
                        "expiry: %s", exc)

    def settle(self, instance: ProviderInstance, admission: Admission,
               transport_errors: Sequence[bool]) -> None:
        """Give the batch's slots back and tell the breaker how its calls went.

        `transport_errors` in the order the calls ended: an answer closes the breaker, and only
        the errors after the last answer count toward opening it (they are the run so far).
        """
        answered = not all(transport_errors)
        trailing = 0
        for failed in reversed(transport_errors):
            if not failed:
                break
            trailing += 1
        keys = _keys(instance.name)
        cooldown = instance.policy.breaker_cooldown.total_seconds()
        try:
            self._settle(
                keys=[keys["failures"], keys["open_until"], keys["probe"],
                      self.in_flight.key_of(instance)],
                args=["1" if answered and transport_errors else "0", trailing,
                      instance.policy.breaker_threshold, repr(self.now() + cooldown),
                      *admission.slots],
            )
        except redis.RedisError as exc:
            log.warning("throttle unavailable, slots free themselves at their expiry and the "
                        "breaker is not updated: %s", exc)

    def _breaker_and_rate(self, instance: ProviderInstance,
                          wanted: int) -> tuple[int, Permission | None]:
        rate = instance.policy.rate_limit_per_s
        window = max(1.0, 1.0 / rate)  # slow rates get a longer window holding one call
        allowance = max(1, math.floor(rate * window))
        now = self.now()
        slot = int(now // window)
        keys = _keys(instance.name)
        cooldown = instance.policy.breaker_cooldown.total_seconds()
        granted, why, open_until = self._admit(
            keys=[keys["open_until"], keys["probe"], f"{PREFIX}:rate:{instance.name}:{slot}"],
            args=[repr(now), wanted, allowance, int(window) + 2, max(1, int(cooldown * 1000))],
        )
        why = why.decode() if isinstance(why, bytes) else why
        refusal = None
        if why == "open":
            refusal = Permission(False, float(open_until) - now,
                                 "circuit open after repeated transport errors")
        elif why == "half_open":
            refusal = Permission(False, cooldown, "circuit half-open: a probe is under way")
        elif why == "rate":
            refusal = Permission(False, (slot + 1) * window - now, OVER_RATE)
        return int(granted), refusal


@dataclass(frozen=True)
class BreakerState:
    """An instance's circuit breaker as Redis holds it, for people and metrics."""

    name: str  # "closed", "open" (no call until open_until) or "half_open" (one probe may go)
    open_until: float | None = None  # Unix time

    @property
    def closed(self) -> bool:
        return self.name == "closed"


def breaker_states(client: redis.Redis, instances: Sequence[str],
                   now: float) -> dict[str, BreakerState]:
    """Each instance's breaker, read in one round trip. Raises redis.RedisError.

    Open from the moment the threshold of transport errors is reached until its cooldown ends;
    half open from then until an answer closes it (a failed probe opens it again); closed when
    no key is left. An instance no check ever failed on has no key: closed.
    """
    if not instances:
        return {}
    values = client.mget([_keys(name)["open_until"] for name in instances])
    states = {}
    for name, value in zip(instances, values, strict=True):
        if value is None:
            states[name] = BreakerState("closed")
        else:
            until = float(value)
            states[name] = BreakerState("open" if until > now else "half_open", until)
    return states


def _keys(name: str) -> dict[str, str]:
    return {
        "failures": f"{PREFIX}:breaker:{name}:failures",
        "open_until": f"{PREFIX}:breaker:{name}:open_until",
        "probe": f"{PREFIX}:breaker:{name}:probe",
    }
