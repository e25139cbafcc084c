"""A subscriber URL may carry a token: it stays out of the attempt log, the listing and the
process logs (urllib3 writes the request line at DEBUG)."""

from __future__ import annotations

import base64
import io
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from worker.process import logs
from worker.process.runtime import build_runtime
from worker.process.settings import Settings
from worker.webhooks.config import Subscriber, load_subscribers
from worker.webhooks.delivery import post

TOKENED = Subscriber(name="finance", url="http://127.0.0.1:1/hooks/in?token=t0k3n-abc123",
                     secret="whsec_" + "s" * 32, connect_timeout_s=0.5)


def test_a_failed_post_logs_the_host_but_not_the_path_or_query():
    # when the post to a closed port fails
    with requests.Session() as http:
        response = post(http, TOKENED, "event-1", "transfer.resolved", b"{}")
    # then
    assert response.http_status is None
    assert response.error is not None
    assert "t0k3n-abc123" not in response.error
    assert "/hooks/in" not in response.error
    assert "127.0.0.1" in response.error


def test_the_listing_hides_the_query_string():
    # when
    shown = TOKENED.describe()
    # then
    assert shown["url"] == "http://127.0.0.1:1/hooks/in?…"
    assert "secret" not in shown


@pytest.fixture
def receiver() -> Iterator[str]:
    """A subscriber's endpoint on this machine that accepts every POST."""

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def urllib3_debug() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """urllib3's logger at DEBUG, written to a stream, as a worker run with DEBUG logs it."""
    logger = logging.getLogger("urllib3")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_urllib3s_debug_request_line_is_masked(receiver, urllib3_debug, tmp_path):
    # given
    url = f"{receiver}/hooks/in?token=abc123secret"
    webhooks_file = tmp_path / "webhooks.toml"
    webhooks_file.write_text(f'[subscribers.finance]\nurl = "{url}"\n'
                             f'secret = "whsec_{"w" * 32}"\n')
    runtime = build_runtime(Settings(webhooks_file=str(webhooks_file)), providers={})
    logger, stream = urllib3_debug
    logs.install(logger, logs.secret_source(runtime), as_json=False)

    # when
    with requests.Session() as http:
        response = post(http, load_subscribers(webhooks_file)["finance"], "event-1",
                        "transfer.resolved", b"{}")

    # then
    assert response.http_status == 204
    written = stream.getvalue()
    assert '"POST /hooks/in?******** HTTP/1.1" 204' in written
    assert "abc123secret" not in written


def test_the_url_credentials_are_secrets_in_every_form_a_log_may_show():
    # given
    subscriber = Subscriber(
        name="finance", secret="whsec_" + "s" * 32,
        url="https://ops:pa%24%24word@hooks.example.com/in?token=abc123secret&format=json",
    )

    # when
    secrets = subscriber.secret_values()

    # then
    assert {"whsec_" + "s" * 32, "s" * 32,  # the secret, with and without its prefix
            "ops:pa%24%24word", "ops:pa$$word", "pa%24%24word", "pa$$word",
            base64.b64encode(b"ops:pa$$word").decode(), "token=abc123secret&format=json",
            "abc123secret"} <= set(secrets)
    # A short value alone would garble unrelated lines; the whole query string covers it.
    assert "json" not in secrets
