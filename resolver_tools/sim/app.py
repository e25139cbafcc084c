"""The simulator as one ASGI application: the five provider endpoints plus /_sim/ control.

A bare ASGI callable rather than a framework app: a provider must check the raw query string
and raw body bytes, and a handler that does little else answers thousands of queries a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from resolver_tools.sim.control import CONTROL_PREFIX, handle_control
from resolver_tools.sim.exchange import Reply, SimRequest, json_reply
from resolver_tools.sim.providers import PROVIDER_KINDS
from resolver_tools.sim.providers.base import ProviderKind
from resolver_tools.sim.queries import answer_query
from resolver_tools.sim.simulator import Simulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
MAX_BODY_BYTES = 64 * 1024 * 1024  # bulk loads of many transactions fit


class SimulatorApp:
    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self._exact = {p.path: p for p in PROVIDER_KINDS.values() if not p.path_has_id}
        self._prefixed = [p for p in PROVIDER_KINDS.values() if p.path_has_id]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = await _read_request(scope, receive)
            reply = await self.handle(request) if request else json_reply(
                {"detail": "body too large"}, 413
            )
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.drip_s:
                await _drip_reply(send, receive, reply)
            else:
                await _send_reply(send, reply)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def handle(self, request: SimRequest) -> Reply:
        if request.path.startswith(CONTROL_PREFIX):
            return handle_control(self.simulator, request)
        provider = self._route(request.path)
        if provider is None:
            return json_reply({"detail": "Not Found"}, 404)
        if request.method != provider.method:
            return json_reply({"detail": "Method Not Allowed"}, 405)
        return await answer_query(self.simulator, provider, request)

    def _route(self, path: str) -> ProviderKind | None:
        provider = self._exact.get(path)
        if provider is None:
            provider = next((p for p in self._prefixed if path.startswith(p.path)), None)
        return provider


def create_app(
    simulator: Simulator | None = None, merchants_file: str | None = None
) -> SimulatorApp:
    """The ASGI app around `simulator`, or around a new one holding the file's merchants."""
    if simulator is None:
        simulator = Simulator.from_merchants_file(merchants_file)
    return SimulatorApp(simulator)


async def _read_request(scope: Scope, receive: Receive) -> SimRequest | None:
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope["headers"]
    }
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return SimRequest(scope["method"], scope["path"], scope["query_string"], headers, body)


async def _send_reply(send: Send, reply: Reply) -> None:
    await send({"type": "http.response.start", "status": reply.status,
                "headers": _headers(reply)})
    await send({"type": "http.response.body", "body": reply.body})


async def _drip_reply(send: Send, receive: Receive, reply: Reply) -> None:
    """The reply's body one byte every `drip_s` seconds, until done or the client hangs up.

    The whole request was read before, so the next thing `receive` reports is the disconnect.
    """
    hung_up = asyncio.ensure_future(receive())
    try:
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": _headers(reply)})
        drops = [reply.body[index:index + 1] for index in range(len(reply.body))] or [b""]
        for index, drop in enumerate(drops):
            last = index == len(drops) - 1
            await send({"type": "http.response.body", "body": drop, "more_body": not last})
            if last:
                return
            await asyncio.wait([hung_up], timeout=reply.drip_s)
            if hung_up.done():
                return
    finally:
        hung_up.cancel()


def _headers(reply: Reply) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", reply.content_type.encode("latin-1")),
        (b"content-length", str(len(reply.body)).encode("latin-1")),
    ]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
