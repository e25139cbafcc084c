"""Web sessions kept in Redis; the cookie holds only a random id.

A signed cookie that carries the session itself cannot be taken back: signing out only asks the
browser to forget it, and a copy taken before still works until it expires. Here the session
lives in Redis under a hash of its id, with the sign-in's lifetime as its expiry; signing out
deletes it, so every copy of the cookie stops working at once, and the cookie says nothing
about who signed in or the form token. Signing in always starts a new id (an id planted in a
browser beforehand is never promoted to a signed-in session).

`request.session` behaves as before (a dict); it is read from Redis only when a request first
touches it, so API calls with a bearer token never reach for a session.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Iterator, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

import anyio.to_thread
import redis
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

KEY_PREFIX = "resolver:admin:session:"
ID_BYTES = 32  # 256 random bits, URL-safe in the cookie
# A visitor who has not signed in yet holds only the login form's CSRF token: kept briefly,
# so a crowd of unsigned visitors cannot fill Redis for hours.
ANONYMOUS_MAX_AGE_S = 30 * 60


class SessionsUnavailable(Exception):
    """Redis could not be reached to read or write a session."""


class SessionStore:
    """Session records in Redis: JSON under the SHA-256 of the id, expiring on their own."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def key(session_id: str) -> str:
        # The id itself is never a key: whoever can list Redis keys finds no live cookie there.
        return KEY_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()

    def load(self, session_id: str) -> dict[str, Any] | None:
        try:
            raw = self.redis.get(self.key(session_id))
        except redis.RedisError as exc:
            raise SessionsUnavailable(str(exc)) from exc
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def create(self, session_id: str, data: dict[str, Any], lifetime_s: int) -> None:
        try:
            self.redis.set(self.key(session_id), json.dumps(data), ex=lifetime_s, nx=True)
        except redis.RedisError as exc:
            raise SessionsUnavailable(str(exc)) from exc

    def update(self, session_id: str, data: dict[str, Any]) -> None:
        # XX: a session that expired meanwhile is not brought back; KEEPTTL: a sign-in lasts its
        # lifetime from the moment it was made, however busy it is.
        try:
            self.redis.set(self.key(session_id), json.dumps(data), xx=True, keepttl=True)
        except redis.RedisError as exc:
            raise SessionsUnavailable(str(exc)) from exc

    def delete(self, session_id: str) -> None:
        try:
            self.redis.delete(self.key(session_id))
        except redis.RedisError as exc:
            raise SessionsUnavailable(str(exc)) from exc


def new_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


class Session(MutableMapping[str, Any]):
    """One request's view of its session: read lazily, written back once by the middleware."""

    def __init__(self, store: SessionStore, presented_id: str | None) -> None:
        self._store = store
        self.presented_id = presented_id
        self.id: str | None = None  # the stored session this request continues, once loaded
        self._data: dict[str, Any] | None = None
        self.modified = False
        self.lifetime_s = ANONYMOUS_MAX_AGE_S  # for a record created by this request
        self.discarded: list[str] = []  # ids whose records go when the response starts

    def _loaded(self) -> dict[str, Any]:
        if self._data is None:
            found = self._store.load(self.presented_id) if self.presented_id else None
            # An id Redis does not know (expired, ended, or made up) is never adopted.
            self.id = self.presented_id if found is not None else None
            self._data = found or {}
        return self._data

    def renew(self, lifetime_s: int) -> None:
        """A new, empty session under a new id; the old record is deleted."""
        self._loaded()
        if self.id is not None:
            self.discarded.append(self.id)
        self.id = None
        self._data = {}
        self.lifetime_s = lifetime_s
        self.modified = True

    def end(self) -> None:
        """Nothing of this session survives: its record goes and the cookie is cleared."""
        self.renew(ANONYMOUS_MAX_AGE_S)

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def __getitem__(self, name: str) -> Any:
        return self._loaded()[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._loaded()[name] = value
        self.modified = True

    def __delitem__(self, name: str) -> None:
        del self._loaded()[name]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def write_back(self) -> str | None:
        """Store what changed. Returns the id the cookie must now hold ('' to clear it), or
        None when the cookie stays as it is. Blocking: call it off the event loop."""
        for old in self.discarded:
            self._store.delete(old)
        data = self._data
        if data is None:
            return None  # never touched
        if not data:
            if self.id is not None:
                self._store.delete(self.id)
            return "" if self.presented_id else None
        if self.id is None:
            self.id = new_id()
            self._store.create(self.id, data, self.lifetime_s)
            return self.id
        if self.modified:
            self._store.update(self.id, data)
        return None


def session_of(request: Request) -> Session:
    found = request.scope.get("session")
    if not isinstance(found, Session):
        raise RuntimeError("ServerSessions middleware is not installed")
    return found


class ServerSessions:
    """Pure ASGI middleware: `scope["session"]` backed by Redis, and the cookie that names it."""

    def __init__(self, app: ASGIApp, store: SessionStore, *, cookie: str, secure: bool) -> None:
        self.app = app
        self.store = store
        self.cookie = cookie
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        presented = HTTPConnection(scope).cookies.get(self.cookie) or None
        session = Session(self.store, presented)
        scope["session"] = session
        started = False

        async def send_with_cookie(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and (session.loaded or
                                                             session.discarded):
                cookie_id = await anyio.to_thread.run_sync(session.write_back)
                if cookie_id is not None:
                    message["headers"] = [*message.get("headers", []),
                                          (b"set-cookie", self._cookie(cookie_id, session))]
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        except SessionsUnavailable as exc:
            log.warning("web sessions unavailable: Redis cannot be reached (%s)", exc)
            if started:
                raise
            await _unavailable(send)

    def _cookie(self, session_id: str, session: Session) -> bytes:
        jar: SimpleCookie = SimpleCookie()
        jar[self.cookie] = session_id
        morsel = jar[self.cookie]
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "lax"
        if self.secure:
            morsel["secure"] = True
        morsel["max-age"] = session.lifetime_s if session_id else 0
        if not session_id:
            morsel["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
        return morsel.OutputString().encode("latin-1")


async def _unavailable(send: Send) -> None:
    body = (b"Sign-in is unavailable for a moment: the session store (Redis) cannot be "
            b"reached. Try again shortly.\n")
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"retry-after", b"30"),
    ]})
    await send({"type": "http.response.body", "body": body})
