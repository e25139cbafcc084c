"""Guessing tokens is slowed down: an address with too many wrong ones waits, others do not."""

from __future__ import annotations

import logging

import pytest
import requests
from fastapi.testclient import TestClient

from tests.conftest import unreachable_redis
from tests.integration.admin.support import OPERATOR_TOKEN, VIEWER_TOKEN, bearer, serving_admin
from tests.integration.admin.test_auth import csrf_of
from worker.admin.login_guard import LoginGuard, proxy_options

pytestmark = pytest.mark.integration

START = 1_800_000_000.0  # the start of a window of 60 s


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app) -> Clock:
    fake = Clock()
    app.state.login_guard.clock = fake
    return fake


def from_address(app, host: str) -> TestClient:
    return TestClient(app, client=(host, 40000))


def test_an_address_is_blocked_after_the_limit_and_counts_alone(redis_client):
    # given
    guard = LoginGuard(redis_client, limit=3, window_s=60, clock=lambda: START + 15)
    # when / then the first three are checked
    for _ in range(3):
        assert guard.check("10.0.0.1") is None
        guard.failed("10.0.0.1")
    # when a fourth comes
    blocked = guard.check("10.0.0.1")
    # then
    assert blocked is not None and blocked.retry_after_s == 45  # until the window ends
    # when / then another address is not blocked
    assert guard.check("10.0.0.2") is None
    # given
    guard.clock = lambda: START + 60  # the next window
    # when / then
    assert guard.check("10.0.0.1") is None


def test_300_wrong_bearer_tokens_are_mostly_answered_429(app, clock):
    # given a guesser and an admin at two addresses
    with from_address(app, "203.0.113.7") as guesser, from_address(app, "198.51.100.2") as admin:
        # when one address sends 300 wrong tokens as fast as it can
        statuses = []
        for attempt in range(300):
            answer = guesser.get("/api/v1/stats", headers=bearer(f"guess-{attempt:04d}-abcdefgh"))
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                assert 1 <= int(answer.headers["retry-after"]) <= 60
        # then only the first ten were even compared; the rest wait for the window to end
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429] * 290
        # and the right token from that address waits too (it is not compared at all) ...
        assert guesser.get("/api/v1/stats", headers=bearer(OPERATOR_TOKEN)).status_code == 429
        # ... while another address is not affected
        assert admin.get("/api/v1/stats", headers=bearer(VIEWER_TOKEN)).status_code == 200
        # when the window has passed
        clock.now += 60
        # then the address may try again
        assert guesser.get("/api/v1/stats", headers=bearer(OPERATOR_TOKEN)).status_code == 200
        assert guesser.get("/api/v1/stats", headers=bearer("still-wrong-0123456789")
                           ).status_code == 401


def test_a_success_does_not_wipe_the_count(app, clock):
    # given nine wrong tokens from one address
    with from_address(app, "203.0.113.8") as guesser:
        for attempt in range(9):
            assert guesser.get("/api/v1/stats",
                               headers=bearer(f"guess-{attempt:04d}-abcdefgh")).status_code == 401
        # when / then a right one is let in
        assert guesser.get("/api/v1/stats", headers=bearer(VIEWER_TOKEN)).status_code == 200
        # when / then a tenth wrong one is still counted
        assert guesser.get("/api/v1/stats", headers=bearer("one-more-wrong-0123456")
                           ).status_code == 401
        # then the right one now waits
        assert guesser.get("/api/v1/stats", headers=bearer(VIEWER_TOKEN)).status_code == 429


def test_the_sign_in_form_is_slowed_down_too(app, clock):
    with from_address(app, "203.0.113.9") as guesser, from_address(app, "198.51.100.3") as admin:
        # given the sign-in form
        form = guesser.get("/login")
        csrf = csrf_of(form.text)
        # when twelve wrong tokens are posted
        answers = [guesser.post("/login", data={"token": f"guess-{n:04d}-abcdefgh",
                                                "csrf_token": csrf})
                   for n in range(12)]
        # then
        assert [a.status_code for a in answers] == [401] * 10 + [429] * 2
        assert "Too many wrong tokens" in answers[-1].text
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
        # when / then the form's failures and the API's are one count: the API is closed too
        assert guesser.get("/api/v1/stats", headers=bearer(OPERATOR_TOKEN)).status_code == 429
        # when another address signs in
        other_form = admin.get("/login")
        signed_in = admin.post("/login", data={"token": OPERATOR_TOKEN,
                                               "csrf_token": csrf_of(other_form.text)},
                               follow_redirects=False)
        # then it is let in as usual
        assert signed_in.status_code == 303
        # when the window has passed and the guesser signs in
        clock.now += 60
        again = guesser.post("/login", data={"token": OPERATOR_TOKEN, "csrf_token": csrf},
                             follow_redirects=False)
        # then
        assert again.status_code == 303


def test_without_redis_the_guard_lets_tokens_be_checked_and_says_so(caplog):
    # given
    guard = LoginGuard(unreachable_redis(), limit=1)
    # when failures are counted without Redis
    with caplog.at_level(logging.WARNING, logger="worker.admin.login_guard"):
        guard.failed("10.0.0.1")
        guard.failed("10.0.0.1")
        # then tokens are still checked
        assert guard.check("10.0.0.1") is None
    # and it is said once
    warnings = [r for r in caplog.records if "failed-token counting is off" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per request


@pytest.mark.parametrize(("trusted", "separate"), [("127.0.0.1", True), (None, False)])
def test_behind_a_trusted_proxy_each_forwarded_client_counts_alone(runtime, trusted, separate):
    # given the server as `resolver admin` runs it, with or without the proxy setting
    with serving_admin(runtime, **proxy_options(trusted)) as url:
        def wrong_token_from(client: str) -> int:
            return requests.get(f"{url}/api/v1/stats", timeout=5, headers={
                "X-Forwarded-For": client, **bearer("a-wrong-guess-0123456789")}).status_code

        # when one client behind the proxy uses up its failures
        assert [wrong_token_from("203.0.113.50") for _ in range(10)] == [401] * 10
        assert wrong_token_from("203.0.113.50") == 429
        # then another client behind it is still heard, when the proxy is trusted; without
        # the setting the header is ignored (anyone could send it) and all share one count
        assert wrong_token_from("203.0.113.51") == (401 if separate else 429)
