"""Request bodies are capped before anything reads them, token check included."""

from __future__ import annotations

import dataclasses
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fastapi.testclient import TestClient

from tests.integration.admin.support import ADMIN_TOKEN, OPERATOR_TOKEN, bearer
from tests.integration.admin.test_auth import csrf_of
from tests.integration.support import request
from worker.admin.app import create_app
from worker.admin.body_limit import DEFAULT_MAX_BODY_BYTES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
MIB = 1024 * 1024
BIG = 200 * MIB


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def server(admin_rt) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "RESOLVER_DATABASE_URL": admin_rt.settings.database_url,
           "RESOLVER_REDIS_URL": admin_rt.settings.redis_url, "RESOLVER_ADMIN_TOKEN": ADMIN_TOKEN}
    child = subprocess.Popen([sys.executable, "-m", "tests.integration.admin.serve_admin",
                              str(port)], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the admin server did not start"
            time.sleep(0.1)
        yield port, child
    finally:
        child.terminate()
        child.wait(timeout=10)


def stream_chunked(port: int, path: str, total: int) -> tuple[bytes, int]:
    """POST `total` bytes chunked, no token, stopping as soon as the server answers.

    Returns the answer's first bytes and how much of the body went out before it came.
    """
    chunk = b"x" * (256 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"Content-Type: application/json\r\n"
                     f"Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            while sent < total:
                readable, _, _ = select.select([conn], [], [], 0.01)
                if readable:
                    break
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            else:
                conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while not answer.endswith(b"}"):
                part = conn.recv(65536)
                if not part:
                    break
                answer += part
        except ConnectionResetError:
            pass
    return answer, sent


def test_a_streamed_body_without_a_token_is_cut_off_without_growing_the_server(server):
    # given
    port, child = server
    before = rss_bytes(child.pid)
    # when 200 MB are streamed, chunked (no Content-Length), to a route that needs a token
    answer, sent = stream_chunked(port, "/api/v1/transfers", BIG)
    after = rss_bytes(child.pid)
    # then the server answers 413 once the cap is passed, long before the end of the body
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"connection: close" in answer.lower()
    assert b'"field":"body"' in answer.replace(b" ", b"")
    assert sent < 20 * MIB
    # and its memory did not grow by anything like the body (it grew 600 MB before the cap)
    assert after - before < 30 * MIB, (before, after)
    # and it still serves
    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok


def test_a_declared_length_over_the_cap_is_refused_unread(server):
    # given
    port, _ = server
    # when a body of 200 MB is declared
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"Content-Type: application/x-www-form-urlencoded\r\n"
                     f"Content-Length: {BIG}\r\n\r\n".encode())
        answer = conn.recv(65536)
    # then
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.fixture
def small_cap_app(admin_rt):
    settings = admin_rt.settings.model_copy(update={"admin_max_body_bytes": 2000})
    return create_app(lambda: dataclasses.replace(admin_rt, settings=settings))


def test_the_cap_is_a_setting_and_bodies_under_it_pass(small_cap_app):
    with TestClient(small_cap_app) as client:
        # when / then under the cap the request goes on to its usual answer
        assert client.post("/api/v1/transfers", json=request(),
                           headers=bearer(OPERATOR_TOKEN)).status_code == 201
        # when / then over it, declared or streamed, with a token or without: 413 naming the body
        for headers in ({}, bearer(OPERATOR_TOKEN)):
            answer = client.post("/api/v1/transfers", content=b"x" * 2001, headers=headers)
            assert answer.status_code == 413
            assert answer.json() == {"detail": "body: larger than the limit of 2000 bytes",
                                     "field": "body"}
            streamed = client.post("/api/v1/transfers", headers=headers,
                                   content=iter([b"x" * 1500, b"x" * 1500]))
            assert streamed.status_code == 413
        # when / then the sign-in form too
        form = client.get("/login")
        answer = client.post("/login", data={"token": "t" * 3000,
                                             "csrf_token": csrf_of(form.text)})
        assert answer.status_code == 413


def test_the_default_cap_is_one_mebibyte(admin_rt):
    # then
    assert admin_rt.settings.admin_max_body_bytes == DEFAULT_MAX_BODY_BYTES == MIB
