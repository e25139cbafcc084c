"""A webhook receiver: check the signature, refuse old requests, handle each event once.

    RESOLVER_WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 8088

and in the resolver's webhooks file:

    [subscribers.example]
    url = "http://127.0.0.1:8088/hooks/resolver"
    secret = "${RESOLVER_WEBHOOK_SECRET}"

Deliveries follow the Standard Webhooks specification, so the check is the `standardwebhooks`
library's (`pip install standardwebhooks`; the same project has one for most languages). It
refuses a request more than five minutes old; `worker.webhooks.signing.verify` is the same check
with a window of your choice, for receivers that install the resolver.

Answer 2xx only once the event is safely handled: anything else (or no answer within the
subscriber's timeout) makes the resolver try again later, with the same event id.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Handle = Callable[[dict[str, Any]], None]


class OncePerEvent:
    """Calls the handler once per event id. Keep the ids in your database in real life, in the
    same transaction as the handler's effect; a set in memory forgets them on restart."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> bool:
        """True if handled now, False if it was handled before."""
        with self.lock:
            if event["id"] in self.seen:
                return False
            self.handle(event)
            self.seen.add(event["id"])
            return True


def receiver(secret: str, handle: Handle) -> type[BaseHTTPRequestHandler]:
    once = OncePerEvent(handle)
    webhook = Webhook(secret)

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                # The raw bytes, before any parsing: the signature covers them exactly. The
                # library checks webhook-id, webhook-timestamp and webhook-signature, and
                # parses the body once it is genuine.
                event = webhook.verify(body, dict(self.headers.items()))
            except WebhookVerificationError as exc:
                self.answer(401, {"error": str(exc)})
                return
            # webhook-id is the event's id: the same on every retry of this event.
            handled_now = once(event)
            self.answer(200, {"id": event["id"], "duplicate": not handled_now})

        def answer(self, status: int, payload: dict[str, Any]) -> None:
            encoded = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet; the handler prints what matters

    return Receiver


def print_event(event: dict[str, Any]) -> None:
    data = event["data"]
    print(f"{event['type']}: transfer {data['transfer_id']} {data['direction']} "
          f"{data['amount']} {data['currency']} -> {data['outcome']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    options = parser.parse_args()
    secret = os.environ["RESOLVER_WEBHOOK_SECRET"]
    server = ThreadingHTTPServer((options.host, options.port), receiver(secret, print_event))
    print(f"listening on http://{options.host}:{server.server_port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
