"""Who may do what: bearer tokens on the API, the signed session and CSRF on the web page."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from models import AuditRecord, Transfer
from tests.integration.admin.support import (
    ADMIN_TOKEN,
    OPERATOR_TOKEN,
    VIEWER_TOKEN,
    bearer,
    in_review,
    routes_of,
    settled,
)
from tests.integration.support import count, load, register, request
from worker.admin import proposals
from worker.admin.app import SESSION_COOKIE, create_app
from worker.admin.tokens import Role, TokenConfigError, parse_tokens
from worker.engine.intake import service
from worker.engine.intake.registration import Contradicted

pytestmark = pytest.mark.integration

WRITES = [
    ("POST", "/api/v1/transfers", request()),
    ("POST", "/api/v1/transfers/1/recheck", None),
    ("POST", "/api/v1/transfers/1/resolve", {"outcome": "failed", "reason": "no"}),
    ("POST", "/api/v1/bulk/confirm", {"action": "recheck", "reason": "no",
                                      "fingerprint": "1-00"}),
    ("POST", "/api/v1/proposals/1/approve", None),
    ("POST", "/api/v1/proposals/1/reject", {"reason": "no"}),
]
READS = ["/api/v1/transfers", "/api/v1/transfers/1", "/api/v1/ledger/accounts",
         "/api/v1/events", "/api/v1/stats", "/api/v1/review", "/api/v1/proposals",
         "/api/v1/proposals/1", "/openapi.json"]
# Reads that take a body: a viewer may preview a bulk action.
POSTED_READS = [("POST", "/api/v1/bulk/preview", {"action": "recheck"})]


# The token settings

def test_the_single_admin_token_is_an_operator_named_admin():
    # given
    book = parse_tokens(ADMIN_TOKEN, None)
    # when
    principal = book.identify(ADMIN_TOKEN)
    # then
    assert principal is not None
    assert (principal.name, principal.role) == ("admin", Role.OPERATOR)
    assert book.identify(ADMIN_TOKEN + "x") is None
    assert book.identify("") is None


def test_named_tokens_carry_their_roles():
    # when
    book = parse_tokens(None, f" ann:viewer:{'a' * 20} ,, bob:OPERATOR:{'b' * 20}")
    # then
    assert book.identify("a" * 20).role is Role.VIEWER
    assert book.identify("b" * 20).role is Role.OPERATOR
    assert len(parse_tokens(None, None)) == 0


@pytest.mark.parametrize(("tokens", "message"), [
    ("ann:viewer:" + "s3cret-value-1234567", None),
    ("ann:viewer:" + "s3cret-value-1234567,justonepart-s3cret-value", "entry 2: expected"),
    ("ann:boss:s3cret-value-1234567", "entry 1: the role"),
    ("a nn:viewer:s3cret-value-1234567", "entry 1: the name"),
    ("ann:viewer:short-s3cret", "entry 1: the token is too short"),
    ("ann:viewer:s3cret-value-1234567:more", "entry 1: expected"),
    ("ann:viewer:s3cret-value-1234567,ann:operator:other-s3cret-12345", "entry 2: the name"),
    ("ann:viewer:s3cret-value-1234567,bob:operator:s3cret-value-1234567", "entry 2: the token"),
    ("admin:viewer:s3cret-value-1234567", "already taken"),
])
def test_a_bad_entry_is_named_by_position_and_the_token_never_shown(tokens, message):
    if message is None:
        # when / then a good entry is taken
        parse_tokens(ADMIN_TOKEN, tokens)
        return
    # when
    with pytest.raises(TokenConfigError, match=message) as caught:
        parse_tokens(ADMIN_TOKEN, tokens)
    # then
    assert "s3cret" not in str(caught.value)


# The API

def api_routes(app) -> list[tuple[str, str]]:
    return [(method, path) for path, route in routes_of(app)
            for method in route.methods if path.startswith("/api/")]


def test_every_api_route_is_covered_here(app):
    # given the routes this file asks
    covered = {("GET", path) for path in READS} | {
        (method, path) for method, path, _ in WRITES + POSTED_READS}
    # when
    listed = {(method, re.sub(r"\{[^}]+\}", "1", path)) for method, path in api_routes(app)}
    # then
    assert ("GET", "/api/v1/transfers") in listed  # the routes are found at all
    assert listed <= covered


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-a-token-of-ours-12345"},
    {"Authorization": f"Basic {OPERATOR_TOKEN}"},
    {"Authorization": f"Bearer {OPERATOR_TOKEN}x"},
    {"Authorization": OPERATOR_TOKEN},
])
def test_nothing_but_health_answers_without_a_valid_token(admin_rt, engine, headers):
    # given
    # (the failed-token guard is set wide here: every route is asked once with a wrong token)
    settings = admin_rt.settings.model_copy(update={"admin_failed_token_limit": 1000})
    client = TestClient(create_app(lambda: dataclasses.replace(admin_rt, settings=settings)))
    # when / then every read is refused
    for path in READS:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"] == "Bearer"
    # when / then every write is refused
    for method, path, body in WRITES + POSTED_READS:
        assert client.request(method, path, json=body, headers=headers).status_code == 401
    # then nothing was written
    assert count(engine, Transfer) == 0
    # when / then health still answers
    assert client.get("/healthz", headers=headers).status_code == 200
    assert client.get("/readyz", headers=headers).status_code == 200


def test_a_viewer_reads_but_every_write_is_403(runtime, client, engine):
    # given
    in_review(runtime)
    proposals.propose(engine, [1], "failed", actor="olga", reason="never arrived")
    audited = count(engine, AuditRecord)
    # when / then reads and previews are allowed
    for path in READS:
        assert client.get(path, headers=bearer(VIEWER_TOKEN)).status_code == 200, path
    for method, path, body in POSTED_READS:
        answer = client.request(method, path, json=body, headers=bearer(VIEWER_TOKEN))
        assert answer.status_code == 200, path
    # when / then every write is refused
    for method, path, body in WRITES:
        answer = client.request(method, path, json=body, headers=bearer(VIEWER_TOKEN))
        assert answer.status_code == 403, path
        assert "viewer" in answer.json()["detail"]
    # then nothing changed
    assert count(engine, Transfer) == 1
    assert count(engine, AuditRecord) == audited
    assert load(engine, 1).state == "needs_review"


@pytest.mark.parametrize(("token", "name"), [(OPERATOR_TOKEN, "olga"), (ADMIN_TOKEN, "admin")])
def test_operators_write_under_their_own_name(runtime, client, engine, token, name):
    # given
    transfer_id = in_review(runtime)
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=bearer(token),
                         json={"outcome": "failed", "reason": "confirmed with support"})
    # then
    assert answer.status_code == 200
    assert answer.json()["audit"]["actor"] == name
    assert load(engine, transfer_id).resolved_by == f"admin:{name}"


# The web page

def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client, token: str) -> None:
    form = client.get("/login")
    answer = client.post("/login", data={"token": token, "csrf_token": csrf_of(form.text),
                                         "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303


def test_pages_send_strangers_to_sign_in(client):
    # when / then
    for path in ("/", "/transfers", "/transfers/1"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
    assert client.post("/transfers/1/resolve", data={"outcome": "failed", "reason": "x"},
                       follow_redirects=False).status_code == 303


def test_signing_in_needs_a_valid_token_and_the_forms_csrf_token(client):
    # given
    form = client.get("/login")
    csrf = csrf_of(form.text)
    # when / then a post without the form's CSRF token is refused
    assert client.post("/login", data={"token": OPERATOR_TOKEN}).status_code == 403
    assert client.post("/login", data={"token": OPERATOR_TOKEN,
                                       "csrf_token": "forged"}).status_code == 403
    # when the token is wrong
    wrong = client.post("/login", data={"token": "wrong-token-1234567890", "csrf_token": csrf})
    # then
    assert wrong.status_code == 401
    assert "not valid" in wrong.text

    # when both are right
    answer = client.post("/login", data={"token": OPERATOR_TOKEN, "csrf_token": csrf,
                                         "next": "https://evil.example/"},
                         follow_redirects=False)
    # then
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert OPERATOR_TOKEN not in cookie
    # when opening the dashboard
    page = client.get("/")
    # then
    assert page.status_code == 200
    assert "Signed in as <strong>olga</strong>" in page.text
    assert "nonce-" in page.headers["content-security-policy"]


def test_every_form_post_checks_the_csrf_token(runtime, client, engine):
    # given
    transfer_id = in_review(runtime)
    sign_in(client, OPERATOR_TOKEN)
    # when / then a forged CSRF token is refused
    for action, data in (("resolve", {"outcome": "failed", "reason": "by phone"}),
                         ("recheck", {})):
        answer = client.post(f"/transfers/{transfer_id}/{action}",
                             data={**data, "csrf_token": "forged"})
        assert answer.status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    # then nothing changed
    assert load(engine, transfer_id).state == "needs_review"
    assert count(engine, AuditRecord) == 0

    # given the transfer's form
    page = client.get(f"/transfers/{transfer_id}")
    form = {"outcome": "failed", "reason": "by phone", "csrf_token": csrf_of(page.text)}
    # when posting it
    confirm = client.post(f"/transfers/{transfer_id}/resolve", follow_redirects=False,
                          data=form)
    # then a confirmation is asked and nothing is done yet
    assert confirm.status_code == 200  # what will happen, and a confirm button
    assert load(engine, transfer_id).state == "needs_review"
    # when / then confirming with a forged token is refused
    assert client.post(f"/transfers/{transfer_id}/resolve", data={**form, "confirmed": "1",
                                                                  "csrf_token": "forged"}
                       ).status_code == 403
    # when confirming
    answer = client.post(f"/transfers/{transfer_id}/resolve", follow_redirects=False,
                         data={**form, "confirmed": "1", "csrf_token": csrf_of(confirm.text)})
    # then
    assert answer.status_code == 303
    assert load(engine, transfer_id).state == "failed"


def test_a_viewer_sees_no_buttons_and_cannot_post(runtime, client, engine):
    # given
    transfer_id = in_review(runtime)
    sign_in(client, VIEWER_TOKEN)
    # when
    page = client.get(f"/transfers/{transfer_id}")
    # then
    assert "Resolve by hand" not in page.text
    # when posting the form anyway
    form = {"outcome": "failed", "reason": "x", "csrf_token": csrf_of(page.text)}
    answer = client.post(f"/transfers/{transfer_id}/resolve", data=form)
    # then
    assert answer.status_code == 403
    assert load(engine, transfer_id).state == "needs_review"


def test_signing_out_ends_the_session(client):
    # given
    sign_in(client, OPERATOR_TOKEN)
    page = client.get("/")
    # when / then
    assert client.post("/logout", data={"csrf_token": csrf_of(page.text)},
                       follow_redirects=False).status_code == 303
    # then the pages are closed again
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_session_ends_when_its_token_is_replaced(admin_rt):
    # given two servers sharing the session store, the second with olga's token replaced
    replaced = parse_tokens(None, "olga:operator:a-brand-new-token-123456")
    with TestClient(create_app(lambda: admin_rt)) as before, \
            TestClient(create_app(lambda: admin_rt, replaced)) as after:
        sign_in(before, OPERATOR_TOKEN)
        after.cookies[SESSION_COOKIE] = before.cookies[SESSION_COOKIE]
        # when / then
        assert before.get("/", follow_redirects=False).status_code == 200
        assert after.get("/", follow_redirects=False).status_code == 303


def test_the_pages_render_for_a_viewer_and_escape_what_they_show(runtime, client):
    # given
    in_review(runtime)
    register(runtime, tx_id="<b>p-1</b>")
    sign_in(client, VIEWER_TOKEN)
    # when a viewer opens the dashboard
    dashboard = client.get("/")
    # then
    assert "tx-review" in dashboard.text and "disagrees with ours" in dashboard.text
    # when listing pending transfers
    listing = client.get("/transfers", params={"state": "pending"})
    # then
    assert "&lt;b&gt;p-1&lt;/b&gt;" in listing.text
    assert "<b>p-1" not in listing.text
    assert "tx-review" not in listing.text
    # when a filter is bad
    refused = client.get("/transfers", params={"older_than": "soon"})
    # then
    assert refused.status_code == 400 and "older_than" in refused.text
    # when / then
    assert client.get("/transfers/999").status_code == 404
    assert client.get("/transfers/abc").status_code == 404


def test_the_pages_show_a_contradiction(runtime, client):
    # given a transfer settled as succeeded that the wallet then reported as failed
    transfer_id = settled(runtime, tx_id="said-failed")
    with pytest.raises(Contradicted):
        service.complete(runtime, "scripted-a", "said-failed", "failed", by="wallet")
    sign_in(client, VIEWER_TOKEN)
    # when / then the dashboard counts it, the list filters it and the transfer's page says it
    assert 'href="/transfers?state=any&amp;contradicted=1">1</a>' in client.get("/").text
    listing = client.get("/transfers", params={"state": "any", "contradicted": "1"})
    assert f'/transfers/{transfer_id}"' in listing.text and "contradicted" in listing.text
    page = client.get(f"/transfers/{transfer_id}").text
    assert "Contradicted" in page and "caller:wallet reported <strong>failed</strong>" in page


def test_a_form_post_for_an_impossible_id_is_404(client):
    # given
    sign_in(client, OPERATOR_TOKEN)
    page = client.get("/")
    # when
    answer = client.post(f"/transfers/{2**64}/recheck", data={"csrf_token": csrf_of(page.text)})
    # then
    assert answer.status_code == 404
