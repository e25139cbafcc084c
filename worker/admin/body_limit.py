"""A cap on request bodies, enforced before anything reads them.

FastAPI reads a request's whole body before it resolves the route's dependencies, token check
included, so without a cap anyone could make the server hold hundreds of megabytes just to be
told 401. This middleware sits outside everything else: a Content-Length over the cap is
refused at once, unread; a body without one (chunked, streamed) is counted as it arrives and
refused the moment it passes the cap. Either way the answer is 413 and the connection is
closed, so the server never keeps more than the cap of any body.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class _BodyTooLarge(Exception):
    """Raised into the application from `receive`: it stops whatever was reading the body."""


def _refusal(limit: int) -> tuple[Message, Message]:
    body = json.dumps({"detail": f"body: larger than the limit of {limit} bytes",
                       "field": "body"}).encode()
    start: Message = {"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body is never read: the connection cannot carry another request.
        (b"connection", b"close"),
    ]}
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """Pure ASGI middleware: 413 for a request body over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_too_large(scope):
            await self._refuse(send)
            return

        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started and not refused:
                        refused = True
                        await self._refuse(send)
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already; whatever the app says after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if not refused and not started:
                await self._refuse(send)

    def _declared_too_large(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value.decode("latin-1")) > self.max_bytes
                except ValueError:
                    return False  # the server itself rejects a malformed length
        return False

    async def _refuse(self, send: Send) -> None:
        start, body = _refusal(self.max_bytes)
        await send(start)
        await send(body)
