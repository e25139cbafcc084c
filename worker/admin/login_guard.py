"""Slowing down whoever guesses tokens: failed sign-ins and bearer tokens counted per address.

Each wrong token presented (on the API or the sign-in form) counts against the client's
address in a fixed window kept in Redis, so every admin process sees the same count. Once an
address has `limit` failures in the current window it is answered 429 with Retry-After until
the window ends, without the token even being compared: a blocked address learns nothing, not
even whether it has just guessed right. Other addresses are not affected, and a success does
not wipe anyone's count.

The address is `request.client.host`, the peer of the connection. Behind a reverse proxy that
is the proxy's address, which would pool every admin into one count: run `resolver admin` with
RESOLVER_ADMIN_FORWARDED_ALLOW_IPS set to the proxy's address so the server takes the client's
address from the proxy's X-Forwarded-For instead.

When Redis cannot be reached the guard lets requests through (the tokens are still checked)
and logs it: the console stays usable for admins during a Redis outage, and with tokens of 16
characters and more the count is a second line of defence, not the first.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from starlette.requests import HTTPConnection

log = logging.getLogger(__name__)

KEY_PREFIX = "resolver:admin:failures:"
DEFAULT_LIMIT = 10
DEFAULT_WINDOW_S = 60
# How often a Redis outage is logged at most: not once per request.
OUTAGE_LOG_EVERY_S = 60.0


def proxy_options(forwarded_allow_ips: str | None) -> dict[str, Any]:
    """uvicorn's options for the client address: the peer's, or X-Forwarded-For's when the
    peer is one of the trusted proxies (anyone else could claim any address)."""
    trusted = (forwarded_allow_ips or "").strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


@dataclass(frozen=True)
class Blocked:
    """This address must wait `retry_after_s` seconds before presenting a token again."""

    retry_after_s: int


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


@dataclass
class LoginGuard:
    redis: redis.Redis
    limit: int = DEFAULT_LIMIT
    window_s: int = DEFAULT_WINDOW_S
    clock: Callable[[], float] = time.time
    _outage_logged_at: float = field(default=-math.inf, repr=False)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_s < 1:
            raise ValueError("the failure limit and its window must be at least 1")

    def _window(self) -> tuple[str, int]:
        """The current window's key suffix and the seconds left in it."""
        now = self.clock()
        index = int(now // self.window_s)
        left = max(1, math.ceil((index + 1) * self.window_s - now))
        return str(index), left

    def _key(self, address: str, window: str) -> str:
        # Hashed: an address (IPv6, or whatever a proxy forwards) never shapes a key's text.
        digest = hashlib.sha256(address.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return f"{KEY_PREFIX}{digest}:{window}"

    def check(self, address: str) -> Blocked | None:
        """Blocked, or None if this address may present a token now."""
        window, left = self._window()
        try:
            raw = self.redis.get(self._key(address, window))
        except redis.RedisError as exc:
            self._outage(exc)
            return None
        failures = int(raw) if raw is not None else 0
        return Blocked(left) if failures >= self.limit else None

    def failed(self, address: str) -> None:
        """Count a wrong token from this address."""
        window, left = self._window()
        key = self._key(address, window)
        try:
            with self.redis.pipeline() as pipe:
                pipe.incr(key)
                pipe.expire(key, left + 1)
                pipe.execute()
        except redis.RedisError as exc:
            self._outage(exc)

    def _outage(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._outage_logged_at >= OUTAGE_LOG_EVERY_S:
            self._outage_logged_at = now
            log.warning("failed-token counting is off while Redis cannot be reached; tokens are "
                        "still checked (%s)", exc)
