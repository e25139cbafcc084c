"""The console's sign-in and sign-out in a real browser: signing out ends the session for
every copy of the cookie, and an address that keeps guessing tokens is told to wait."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_admin_browser import page as page  # the browser fixture, re-exported
from tests.integration.admin.support import OPERATOR_TOKEN, serving_admin
from worker.admin.app import SESSION_COOKIE
from worker.process.runtime import Runtime

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    with serving_admin(runtime) as url:
        yield url


def sign_in(page: Page, server: str, token: str) -> None:
    page.goto(server + "/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_signing_out_in_the_browser_ends_the_session_on_the_server(server, page):
    # given an operator signed in
    sign_in(page, server, OPERATOR_TOKEN)
    expect(page.get_by_text("Signed in as")).to_contain_text("olga")
    captured = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert len(captured) == 1 and captured[0]["httpOnly"] and captured[0]["sameSite"] == "Lax"
    # when they sign out
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # then putting the cookie from before back does not sign anyone in
    page.context.add_cookies(captured)
    page.goto(server + "/")
    expect(page).to_have_url(f"{server}/login?next=%2F")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


@pytest.fixture
def guarded_server(runtime: Runtime) -> Iterator[str]:
    """The server with a day-long window: the guard's windows follow the clock, and eleven
    sign-ins must not straddle two of them, however slow the machine."""
    settings = runtime.settings.model_copy(update={"admin_failed_token_window_s": 86_400})
    with serving_admin(dataclasses.replace(runtime, settings=settings)) as url:
        yield url


def test_an_address_guessing_tokens_is_asked_to_wait(guarded_server, page):
    # given
    server = guarded_server
    # when / then each of ten wrong guesses is refused
    for attempt in range(10):
        sign_in(page, server, f"a-wrong-guess-{attempt:04d}")
        expect(page.get_by_role("alert")).to_contain_text("That token is not valid.")
    # when the right token comes next
    sign_in(page, server, OPERATOR_TOKEN)
    # then
    expect(page.get_by_role("alert")).to_contain_text("Too many wrong tokens from your address")
    expect(page.get_by_text("Signed in as")).to_have_count(0)
