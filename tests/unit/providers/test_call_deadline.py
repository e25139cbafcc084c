"""A provider call has a total deadline: a provider that drips its answer one byte at a time,
each byte well within the per-read timeout, is cut off when the deadline passes."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from tests.unit.providers.support import make_adapter, make_transfer
from worker.domain.types import Outcome
from worker.providers.base import CheckResult

CREDENTIALS = {"appid": "1005", "key": "minigame-secret-key"}
GOOD_BODY = b'{"code":0,"msg":"ok","data":{"currency":"usd","amount":"10.00","state":1}}'
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(GOOD_BODY)).encode() + b"\r\n\r\n")
BYTE_EVERY_S = 0.2
DEADLINE_S = 1.5
READ_TIMEOUT_S = 1.0  # every dripped byte comes well within it
MARGIN_S = 0.5

# How one accepted connection is answered: (connection number from 1, socket, stop event).
Behaviour = Callable[[int, socket.socket, threading.Event], None]


@dataclass
class RawProvider:
    """A TCP server on 127.0.0.1 that answers each connection as `behaviour` says."""

    behaviour: Behaviour
    url: str = ""
    connections: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def drip(conn: socket.socket, data: bytes, stop: threading.Event) -> None:
    for byte in data:
        if stop.wait(BYTE_EVERY_S):
            return
        conn.sendall(bytes([byte]))


def reset(conn: socket.socket) -> None:
    """Hang up with a TCP reset (linger 0), as a provider's crashing front end does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def answer_at_once(conn: socket.socket) -> None:
    conn.sendall(HEAD + GOOD_BODY)


def drip_headers(number: int, conn: socket.socket, stop: threading.Event) -> None:
    drip(conn, HEAD + GOOD_BODY, stop)


def drip_body(number: int, conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(HEAD)
    drip(conn, GOOD_BODY, stop)


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], RawProvider]]:
    started: list[tuple[RawProvider, socket.socket]] = []

    def start(behaviour: Behaviour) -> RawProvider:
        provider = RawProvider(behaviour)
        listener = socket.create_server(("127.0.0.1", 0))
        provider.url = f"http://127.0.0.1:{listener.getsockname()[1]}"

        def handle(number: int, conn: socket.socket) -> None:
            with conn:
                try:
                    _read_request(conn)
                    provider.behaviour(number, conn, provider.stop)
                except OSError:
                    pass  # the client hung up: what a cut-off call does

        def accept() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                provider.connections += 1
                threading.Thread(target=handle, args=(provider.connections, conn),
                                 daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        started.append((provider, listener))
        return provider

    yield start
    for provider, listener in started:
        provider.stop.set()
        listener.close()


def timed_check(url: str, adapter_options: dict[str, float] | None = None,
                adapter: object = None) -> tuple[CheckResult, float]:
    options = {"deadline_s": DEADLINE_S, "timeout_s": READ_TIMEOUT_S, **(adapter_options or {})}
    chosen = adapter or make_adapter("minigame", CREDENTIALS, base_url=url, **options)
    started = time.monotonic()
    result = chosen.check(make_transfer(amount=Decimal("10"), currency="USD"))  # type: ignore[attr-defined]
    return result, time.monotonic() - started


def test_a_provider_dripping_its_headers_is_cut_off_at_the_deadline(serve):
    # Given a provider that sends its status line and headers one byte every 0.2 s
    provider = serve(drip_headers)

    # When we ask with a 1.5 s deadline and a 1 s per-read timeout
    result, elapsed = timed_check(provider.url)

    # Then the call ends at the deadline, as a transport error naming it
    assert result.outcome is Outcome.RETRY
    assert result.transport_error is True
    assert (result.detail or "").startswith("deadline of 1.5 s passed (connecting or waiting "
                                            "for the answer's headers, 1 try)")
    assert DEADLINE_S - 0.1 < elapsed < DEADLINE_S + MARGIN_S
    assert provider.connections == 1  # a cut-off try is not tried again


def test_a_provider_dripping_its_body_is_cut_off_at_the_deadline(serve):
    # given a provider that drips its answer's body
    provider = serve(drip_body)
    # when
    result, elapsed = timed_check(provider.url)
    # then the read is cut off at the deadline, naming where it was
    assert result.outcome is Outcome.RETRY
    assert result.transport_error is True
    assert "deadline of 1.5 s passed (reading the answer's body, HTTP 200" in (result.detail or "")
    assert elapsed < DEADLINE_S + MARGIN_S


def test_the_deadline_spans_every_try(serve):
    # Given a provider that drops the first connection at once, then drips
    def drop_then_drip(number: int, conn: socket.socket, stop: threading.Event) -> None:
        if number == 1:
            reset(conn)  # a connection error, which is tried again
            return
        drip_headers(number, conn, stop)

    provider = serve(drop_then_drip)

    # When we ask
    result, elapsed = timed_check(provider.url)

    # Then the second try is cut off when the deadline of the whole call passes
    assert result.outcome is Outcome.RETRY
    assert "deadline of 1.5 s passed" in (result.detail or "")
    assert "2 tries" in (result.detail or "")
    assert elapsed < DEADLINE_S + MARGIN_S
    assert provider.connections == 2


def test_no_try_starts_when_too_little_of_the_deadline_is_left(serve):
    # Given a provider whose every connection stalls 0.4 s and then hangs up (a connection error)
    def stall_and_hang_up(number: int, conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(0.4)
        reset(conn)

    provider = serve(stall_and_hang_up)

    # When we ask with a 1.5 s deadline
    result, elapsed = timed_check(provider.url)

    # Then after two tries and a wait (1.0 s) a third would start 0.4 s later with 0.1 s
    # left, under the 0.5 s a try needs: it does not
    assert result.outcome is Outcome.RETRY
    assert (result.detail or "").startswith("connection error")
    assert provider.connections == 2
    assert elapsed < DEADLINE_S


def test_a_connection_cut_off_mid_answer_is_not_used_again(serve):
    # Given a provider that drips its first answer's body and answers later ones at once
    def drip_first(number: int, conn: socket.socket, stop: threading.Event) -> None:
        if number == 1:
            drip_body(number, conn, stop)
        else:
            answer_at_once(conn)

    provider = serve(drip_first)
    adapter = make_adapter("minigame", CREDENTIALS, base_url=provider.url,
                           deadline_s=DEADLINE_S, timeout_s=READ_TIMEOUT_S)

    # When the first call is cut off and the same adapter (same session) asks again
    first, _ = timed_check(provider.url, adapter=adapter)
    second, elapsed = timed_check(provider.url, adapter=adapter)

    # Then the second call got the whole answer, on a new connection
    assert "deadline" in (first.detail or "")
    assert second.outcome is Outcome.SUCCEEDED
    assert provider.connections == 2
    assert elapsed < 1


def test_a_shorter_deadline_given_by_the_caller_wins(serve):
    # given a provider that drips its headers, and an adapter with a 30 s deadline
    provider = serve(drip_headers)
    adapter = make_adapter("minigame", CREDENTIALS, base_url=provider.url, deadline_s=30,
                           timeout_s=READ_TIMEOUT_S)
    # when the caller gives 0.8 s
    started = time.monotonic()
    result = adapter.check(make_transfer(amount=Decimal("10"), currency="USD"), deadline_s=0.8)
    # then
    assert (result.detail or "").startswith("deadline of 0.8 s passed")
    assert time.monotonic() - started < 0.8 + MARGIN_S
