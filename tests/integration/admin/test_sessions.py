"""Web sessions live in Redis: the cookie is a random id, and signing out ends it everywhere."""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import unreachable_redis
from tests.integration.admin.support import OPERATOR_TOKEN, bearer
from tests.integration.admin.test_auth import csrf_of, sign_in
from worker.admin import sessions
from worker.admin.app import SESSION_COOKIE, SESSION_MAX_AGE_S, create_app
from worker.admin.tokens import parse_tokens

pytestmark = pytest.mark.integration


def decodings(value: str) -> list[bytes]:
    """Every reading of a cookie value an attacker would try: as is, and base64 of each part."""
    found = [value.encode()]
    for part in re.split(r"[.:|]", value):
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            with contextlib.suppress(binascii.Error, ValueError):
                found.append(decode(part + "=" * (-len(part) % 4)))
    return found


def test_the_cookie_is_an_opaque_random_id(client, redis_client):
    # given olga signed in, with a CSRF token in her session
    sign_in(client, OPERATOR_TOKEN)
    page = client.get("/")
    csrf = csrf_of(page.text)
    cookie = client.cookies[SESSION_COOKIE]
    # then the cookie holds nothing of the session: not her name, fingerprint or CSRF token
    fingerprint = parse_tokens(None, f"olga:operator:{OPERATOR_TOKEN}").identify(
        OPERATOR_TOKEN).fingerprint
    for text in decodings(cookie):
        for secret in (b"olga", fingerprint.encode(), csrf.encode(), b"operator", b'"who"'):
            assert secret not in text
    # and it is at least 128 random bits, naming a record in Redis (under its hash, not itself)
    assert len(base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))) >= 16
    assert redis_client.exists(sessions.SessionStore.key(cookie))
    assert not redis_client.keys(f"*{cookie}*")
    ttl = redis_client.ttl(sessions.SessionStore.key(cookie))
    assert SESSION_MAX_AGE_S - 60 < ttl <= SESSION_MAX_AGE_S


def test_a_cookie_captured_before_signing_out_no_longer_works(app, client):
    # given olga signed in, and someone copied her cookie
    sign_in(client, OPERATOR_TOKEN)
    captured = client.cookies[SESSION_COOKIE]
    with TestClient(app) as thief:
        thief.cookies[SESSION_COOKIE] = captured
        assert thief.get("/", follow_redirects=False).status_code == 200
        # when she signs out
        answer = client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)},
                             follow_redirects=False)
        assert answer.status_code == 303
        assert f"{SESSION_COOKIE}=" in answer.headers["set-cookie"]
        assert "max-age=0" in answer.headers["set-cookie"].lower()
        # then the copy is worth nothing: the server forgot the session
        refused = thief.get("/", follow_redirects=False)
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/login")


def test_signing_in_starts_a_new_session_id(app, redis_client):
    with TestClient(app) as browser:
        # given a visitor whose cookie was planted before sign-in (session fixation)
        form = browser.get("/login")
        planted = browser.cookies[SESSION_COOKIE]
        # when they sign in
        answer = browser.post("/login", data={"token": OPERATOR_TOKEN,
                                              "csrf_token": csrf_of(form.text), "next": "/"},
                              follow_redirects=False)
        assert answer.status_code == 303
        # then the signed-in session has a new id and the planted one leads nowhere
        assert browser.cookies[SESSION_COOKIE] != planted
        assert not redis_client.exists(sessions.SessionStore.key(planted))
    with TestClient(app) as attacker:
        attacker.cookies[SESSION_COOKIE] = planted
        assert attacker.get("/", follow_redirects=False).status_code == 303


def test_a_made_up_id_is_never_adopted(client, redis_client):
    # given
    made_up = "made-up-by-the-visitor-0123456789abcdef"
    # when
    form = client.get("/login", headers={"Cookie": f"{SESSION_COOKIE}={made_up}"})
    # then the visitor's own choice is replaced by an id the server made
    issued = re.match(rf"{SESSION_COOKIE}=([^;]+);", form.headers["set-cookie"])
    assert issued and issued.group(1) != made_up
    assert not redis_client.exists(sessions.SessionStore.key(made_up))
    assert csrf_of(form.text)


def test_the_cookie_keeps_its_protective_attributes(client, monkeypatch, admin_rt):
    # given
    form = client.get("/login")
    # when
    answer = client.post("/login", data={"token": OPERATOR_TOKEN,
                                         "csrf_token": csrf_of(form.text)},
                         follow_redirects=False)
    # then
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert f"max-age={SESSION_MAX_AGE_S}" in cookie
    assert "secure" not in cookie
    # given secure cookies asked for
    monkeypatch.setenv("RESOLVER_SESSION_SECURE", "1")
    with TestClient(create_app(lambda: admin_rt), base_url="https://testserver") as secure:
        # when / then
        assert "; secure" in secure.get("/login").headers["set-cookie"].lower()


def test_an_api_call_never_touches_the_session_store(client, redis_client):
    # when / then
    assert client.get("/api/v1/stats", headers=bearer(OPERATOR_TOKEN)).status_code == 200
    assert "set-cookie" not in client.get("/api/v1/stats",
                                          headers=bearer(OPERATOR_TOKEN)).headers
    # then nothing was stored
    assert not redis_client.keys(sessions.KEY_PREFIX + "*")


def test_without_redis_the_page_says_so_and_the_api_still_answers(admin_rt):
    # given an admin server whose Redis is down
    down = dataclasses.replace(admin_rt, redis=unreachable_redis())
    with TestClient(create_app(lambda: down), raise_server_exceptions=False) as client:
        # when / then the page cannot keep a session: 503 saying why, not a 500
        page = client.get("/login")
        assert page.status_code == 503
        assert "session store (Redis) cannot be reached" in page.text
        assert page.headers["retry-after"]
        # when / then the API, which needs no session, still answers from Postgres
        assert client.get("/api/v1/stats", headers=bearer(OPERATOR_TOKEN)).status_code == 200
