"""Hostile text in paths and query strings: a 4xx naming the problem, never a 500 or a class name.

Every GET route of the app is found from the app itself (so a route added later is covered
too) and each path parameter and query parameter gets each nasty value in turn, on the API with
a token and on the web page signed in.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.integration.admin.support import (
    OPERATOR_TOKEN,
    VIEWER_TOKEN,
    bearer,
    in_review,
    routes_of,
)
from tests.integration.admin.test_auth import csrf_of, sign_in

pytestmark = pytest.mark.integration

NASTY = [
    "\x00", "a\x00b", "\x00\x00\x00", "²", "1²", "¹²³", "١٢", "\U0001d7d9", "Ⅻ", "½", "-1", "0",
    "9" * 40, "1e3", " 1 ", "+1", "0x1f", "1_000", "%", "%00", "\n", "\r\n", "\x7f", "\x1b[31m",
    "é", "💥", "\u202e", "\ufeff", "<script>alert(1)</script>", "'; drop table transfers;--",
    "../../etc/passwd", "\\", "null", "true", "[]", "{}", "x" * 5000,
]
# What must never reach a client: a traceback, or a Python class name such as _ServerError.
LEAKS = re.compile(r"Traceback|File \"|\b_[A-Z]\w+"
                   r"|\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:Error|Exception)\b")


def get_routes(app) -> list[tuple[str, APIRoute]]:
    return [(path, route) for path, route in routes_of(app) if "GET" in route.methods]


def urls_for(path: str, route: APIRoute) -> list[str]:
    """The route with each nasty value in each path parameter, then in each query parameter."""
    path_params = [param.name for param in route.dependant.path_params]
    query_params = [param.alias for param in route.dependant.query_params] + ["unexpected"]
    plain = path
    for name in path_params:
        plain = plain.replace("{" + name + "}", "1")
    urls = []
    for value in NASTY:
        for name in path_params:
            others = path
            for other in path_params:
                others = others.replace("{" + other + "}",
                                        quote(value, safe="") if other == name else "1")
            urls.append(others)
        for name in query_params:
            urls.append(f"{plain}?{quote(name)}={quote(value, safe='')}")
    return urls


# Random form tokens and script nonces, which may look like anything: not looked at.
RANDOM_TOKENS = re.compile(r'(?:value|nonce)="[A-Za-z0-9_-]{16,}"')


def assert_no_leak(url: str, answer) -> None:
    assert answer.status_code < 500, f"{url} answered {answer.status_code}: {answer.text[:300]}"
    found = LEAKS.search(RANDOM_TOKENS.sub("", answer.text))
    assert found is None, f"{url} shows {found.group(0)!r}: {answer.text[:300]}"


def test_every_get_route_of_the_api_refuses_hostile_input_cleanly(runtime, app, client):
    # given a transfer in review and the API's routes
    in_review(runtime)  # a page with a row in it: the list renders
    routes = [(path, route) for path, route in get_routes(app)
              if path.startswith(("/api/", "/openapi")) or path in {"/healthz", "/readyz",
                                                                    "/metrics"}]
    # then the well-known routes are among them
    assert {"/api/v1/transfers", "/api/v1/transfers/{transfer_id}", "/healthz"} <= {
        path for path, _ in routes}
    # when / then every route answers every hostile address without a crash or a leak
    for path, route in routes:
        for url in urls_for(path, route):
            assert_no_leak(url, client.get(url, headers=bearer(VIEWER_TOKEN)))


def test_every_page_refuses_hostile_input_cleanly(runtime, app, client):
    # given a transfer in review, a signed-in viewer and the console's pages
    in_review(runtime)
    sign_in(client, VIEWER_TOKEN)
    routes = [(path, route) for path, route in get_routes(app)
              if not path.startswith(("/api/", "/openapi"))
              and path not in {"/healthz", "/readyz", "/metrics"}]
    # then the well-known pages are among them
    assert {"/", "/transfers", "/transfers/{transfer_id}", "/login"} <= {
        path for path, _ in routes}
    # when / then every page answers every hostile address without a crash or a leak
    for path, route in routes:
        for url in urls_for(path, route):
            answer = client.get(url, follow_redirects=False)
            assert_no_leak(url, answer)


@pytest.mark.parametrize(("url", "status", "says"), [
    ("/transfers?provider=%00", 400, "provider"),
    ("/transfers?tx_id=a%00b", 400, "tx_id"),
    ("/transfers?older_than=%00", 400, "older_than"),
    ("/transfers?cursor=%00", 400, "cursor"),
    ("/transfers?state=%00", 400, "state"),
    ("/transfers/%C2%B2", 404, "No transfer"),
    ("/transfers/%00", 404, "No transfer"),
    ("/transfers/99999999999999999999999", 404, "No transfer"),
])
def test_the_pages_name_what_is_wrong(runtime, client, url, status, says):
    # given a signed-in viewer
    sign_in(client, VIEWER_TOKEN)
    # when
    answer = client.get(url)
    # then the page names the bad part
    assert answer.status_code == status
    assert says in answer.text


@pytest.mark.parametrize("url", ["/transfers/%C2%B2/recheck", "/transfers/%00/resolve",
                                 "/proposals/%C2%B2/approve", "/proposals/x/reject"])
def test_a_form_posted_to_an_address_that_names_nothing_is_a_page_not_json(runtime, client, url):
    # given a signed-in operator and the form's CSRF token
    sign_in(client, OPERATOR_TOKEN)
    csrf = csrf_of(client.get("/").text)
    # when a form is posted to an id that is no number
    answer = client.post(url, data={"csrf_token": csrf, "reason": "r", "outcome": "failed"})
    # then it is the console's not-found page
    assert answer.status_code == 404
    assert "text/html" in answer.headers["content-type"]
    assert "Nothing is at this address" in answer.text


@pytest.mark.parametrize(("url", "status"), [
    ("/api/v1/transfers/%C2%B2", 422),
    ("/api/v1/transfers/%00", 422),
    ("/api/v1/transfers?provider=%00", 422),
    ("/api/v1/transfers?cursor=%00", 422),
    ("/api/v1/events?after=%C2%B2", 422),
])
def test_the_api_names_what_is_wrong(client, url, status):
    # when
    answer = client.get(url, headers=bearer(VIEWER_TOKEN))
    # then the answer names the bad field
    assert answer.status_code == status
    assert answer.json()["field"]


def test_an_unforeseen_error_shows_a_reference_and_logs_the_rest(app, caplog):
    # Given a route that fails in a way nobody handled
    @app.get("/api/v1/broken-for-test")
    def broken() -> None:
        raise _PrivateFailure("secret detail from deep inside")

    @app.get("/broken-for-test")
    def broken_page() -> None:
        raise _PrivateFailure("secret detail from deep inside")

    with TestClient(app, raise_server_exceptions=False) as client:
        api_answer = client.get("/api/v1/broken-for-test")
        page = client.get("/broken-for-test")
    # Then the client sees a generic message and a reference, nothing of the error itself
    assert api_answer.status_code == 500
    reference = re.search(r"reference ([0-9a-f]{16})", api_answer.json()["detail"])
    assert reference
    assert page.status_code == 500 and "text/html" in page.headers["content-type"]
    assert "Something went wrong" in page.text and re.search(r"<code>[0-9a-f]{16}</code>",
                                                             page.text)
    for answer in (api_answer, page):
        assert "_PrivateFailure" not in answer.text and "secret detail" not in answer.text
    # And the log holds the reference with the whole history
    logged = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "secret detail" in str(logged[0].exc_info[1])


class _PrivateFailure(Exception):
    pass
