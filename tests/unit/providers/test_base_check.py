"""ProviderAdapter.check() against a real HTTP server on 127.0.0.1: transport failures, bounded
reads, timeouts, and secrets kept out of what a check records."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.unit.providers.contract_table import SEEDS
from tests.unit.providers.support import make_adapter, make_transfer
from worker.domain.types import Outcome
from worker.providers.base import MAX_BODY_BYTES, CheckResult

# Each kind's seed credentials (contract_table), so every provider test signs the same way.
CREDENTIALS = {kind: seed.credentials for kind, seed in SEEDS.items()}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


# What the server answers: the request it saw -> (HTTP status, body).
Answer = Callable[[Seen], tuple[int, bytes]]


@dataclass
class LocalProvider:
    url: str
    answer: Answer = lambda seen: (200, b"{}")
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends slow answers


def _handler(provider: LocalProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
            provider.seen.append(seen)
            status, body = provider.answer(seen)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading, which is what some tests want

        do_GET = do_POST = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    local = LocalProvider(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(local))
    server.daemon_threads = True
    local.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield local
    local.release.set()
    server.shutdown()
    server.server_close()


def check(kind: str, base_url: str, **instance: float) -> CheckResult:
    adapter = make_adapter(kind, CREDENTIALS[kind], base_url=base_url, **instance)
    return adapter.check(make_transfer(amount=Decimal("10"), currency="USD"))


def test_a_good_answer_goes_through_to_the_verdict(provider):
    # given a provider that answers a settled transfer
    provider.answer = lambda seen: (
        200, b'{"code":0,"msg":"ok","data":{"currency":"usd","amount":"10.00","state":1}}'
    )
    # when
    result = check("minigame", provider.url)
    # then
    assert result.outcome is Outcome.SUCCEEDED
    assert result.http_status == 200
    assert result.provider_amount == Decimal("10")
    assert result.request.startswith(f"POST {provider.url}/api/cash/v1/transfer/status?trace_id=")
    assert provider.seen[0].headers["sign"]


def test_5xx_is_retried_then_recorded_as_a_transport_error(provider):
    # given a provider that is down
    provider.answer = lambda seen: (503, b"upstream unavailable")
    # when
    result = check("minigame", provider.url)
    # then it is tried three times, then recorded in words
    assert result.outcome is Outcome.RETRY
    assert result.transport_error is True
    assert result.http_status == 503
    assert result.raw == "upstream unavailable"
    assert result.detail == "server error: HTTP 503"  # words, not an internal class name
    assert len(provider.seen) == 3
    # and each try is built anew: a fresh trace id and signature every time
    assert len({seen.path for seen in provider.seen}) == 3


def test_an_html_page_is_retry_not_a_transport_error(provider):
    # given a maintenance page
    provider.answer = lambda seen: (200, b"<html><body>Maintenance</body></html>")
    # when
    result = check("vct", provider.url)
    # then it is not tried again at once
    assert result.outcome is Outcome.RETRY
    assert result.transport_error is False
    assert "not JSON" in (result.detail or "")
    assert len(provider.seen) == 1


def test_a_body_over_one_mebibyte_is_not_read_to_the_end(provider):
    # given an answer over the limit
    huge = b'{"padding":"' + b"x" * MAX_BODY_BYTES + b'"}'
    provider.answer = lambda seen: (200, huge)
    # when
    result = check("naga", provider.url)
    # then
    assert result.outcome is Outcome.RETRY
    assert result.detail == f"answer is larger than {MAX_BODY_BYTES} bytes"


def test_a_read_timeout_gives_up_quickly(provider):
    # given a provider that does not answer
    def slow(seen: Seen) -> tuple[int, bytes]:
        provider.release.wait(5)
        return 200, b"{}"

    provider.answer = slow
    # when the check waits 0.3 s for it
    started = time.monotonic()
    result = check("lucko", provider.url, timeout_s=0.3)
    elapsed = time.monotonic() - started
    # then
    assert result.outcome is Outcome.RETRY
    assert result.transport_error is True
    assert (result.detail or "").startswith("timeout")
    assert elapsed < 1.5


def test_connection_refused_is_retry():
    # given a port nobody listens on
    with socket.socket() as probe:  # a port that was free a moment ago, with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # when
    result = check("hrg", f"http://127.0.0.1:{port}", connect_timeout_s=0.5)
    # then
    assert result.outcome is Outcome.RETRY
    assert result.transport_error is True
    assert result.http_status is None
    assert (result.detail or "").startswith("connection error")


def _echo(seen: Seen) -> tuple[int, bytes]:
    """A provider that repeats the whole request back, headers included."""
    lines = [f"{seen.method} {seen.path}"] + [f"{k}: {v}" for k, v in seen.headers.items()]
    return 200, "\n".join(lines).encode() + b"\n" + seen.body


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_secrets_never_appear_in_a_check_record(provider, kind):
    # given a provider that echoes the request
    provider.answer = _echo
    # when
    result = check(kind, provider.url)
    # then none of the secrets, the instance's or those its requests always carry,
    adapter = make_adapter(kind, CREDENTIALS[kind])
    standing = [getattr(adapter, name)() for name in ("basic_token", "signature")
                if hasattr(adapter, name)]
    secrets = adapter.instance.secret_values() + standing
    assert secrets  # every kind has at least one

    # is in what the check records
    recorded = " ".join(str(value) for value in vars(result).values())
    assert result.raw.startswith(("GET /", "POST /"))  # the provider did echo the request
    for secret in secrets:
        assert secret not in recorded
    if standing:  # the Basic token or the fixed signature was echoed, and masked
        assert "********" in result.raw


def test_a_secret_in_the_providers_message_is_masked_in_the_detail(provider):
    # given a provider whose error message holds the secret
    provider.answer = lambda seen: (
        200, b'{"code":1002,"data":{},"msg":"signature check with vct-secret-456 failed"}'
    )
    # when
    result = check("vct", provider.url)
    # then the secret is masked
    assert result.outcome is Outcome.AUTH_ERROR
    assert result.detail == "code 1002: signature check with ******** failed"
    assert CREDENTIALS["vct"]["api_secret"] == "vct-secret-456"
    assert "vct-secret-456" not in result.raw
