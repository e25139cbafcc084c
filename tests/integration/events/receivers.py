"""Local HTTP servers that stand in for webhook subscribers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class ScriptedReceiver:
    """Answers each POST with the next status of its script, then with `then` for ever."""

    script: list[int]
    then: int = 200
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def next_status(self) -> int:
        return self.script.pop(0) if self.script else self.then

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.answered < 300]


def _handler(receiver: ScriptedReceiver) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                status = receiver.next_status()
                receiver.requests.append(Received(dict(self.headers.items()), body, status))
            reply = b"ok" if status < 300 else b"temporarily unavailable"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], path: str = "/hooks") -> Iterator[str]:
    """Run a server on a free local port; yield its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def scripted_receiver(script: list[int], then: int = 200) -> Iterator[ScriptedReceiver]:
    receiver = ScriptedReceiver(list(script), then)
    with serving(_handler(receiver)) as url:
        receiver.url = url
        yield receiver
