"""The admin web page in a real browser (Debian's headless Chromium, driven by Playwright).

Given a transfer the machine sent to review, an operator signs in with a token, finds it on the
dashboard with the reason, resolves it with a written reason (confirming what will happen), and
sees it settled with its ledger entries and the audit record. A big one waits for a second
operator (four-eyes); an amount mismatch settles at the provider's amount. Screenshots go to
artifacts/; with RESOLVER_UPDATE_SCREENSHOT=1 the dashboard's also replaces docs/dashboard.png,
for the README.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select, update

from models import AuditRecord, Transfer
from tests.conftest import scripted_instance
from tests.integration.admin.support import (
    ADMIN_TOKEN,
    OPERATOR_TOKEN,
    checked,
    in_review,
    serving_admin,
    settled,
    stuck,
)
from tests.integration.support import register
from worker.domain.types import Outcome
from worker.engine.intake import service
from worker.process import heartbeat
from worker.process.db import transaction
from worker.process.runtime import Runtime
from worker.providers.scripted import SCRIPTS

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
# A shared 2-core CI machine can take seconds to render a page under load; a wrong page still
# fails, only later.
expect.set_options(timeout=15_000)
DOCS_SCREENSHOT = ROOT / "docs" / "dashboard.png"


@pytest.fixture
def providers():
    return {name: scripted_instance(name) for name in ("scripted-a", "scripted-b")}


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    with serving_admin(runtime) as url:
        yield url


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
                    f"; Playwright's own browser download does not work here")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 860})
        context.set_default_timeout(5000)
        yield context.new_page()
        browser.close()


def some_history(runtime: Runtime) -> int:
    """A queue worth looking at: one transfer under review, others settled, pending, in flight."""
    review = in_review(runtime, tx_id="dep-20931", amount="250.00")
    settled(runtime, tx_id="dep-20925")
    settled(runtime, tx_id="wd-7781", outcome=Outcome.FAILED)
    ages = {"dep-20940": timedelta(minutes=4), "dep-20941": timedelta(seconds=20),
            "wd-7790": timedelta(minutes=35)}
    for tx_id, age in ages.items():
        transfer_id = register(runtime, tx_id=tx_id, direction="withdraw" if "wd" in tx_id
                               else "deposit")
        with transaction(runtime.engine) as session:
            session.execute(update(Transfer).where(Transfer.id == transfer_id).values(
                created_at=datetime.now(UTC) - age,
                next_check_at=datetime.now(UTC) + timedelta(seconds=30)))
    old = register(runtime, provider="scripted-b", tx_id="b-118", amount="75.5")
    with transaction(runtime.engine) as session:
        session.execute(update(Transfer).where(Transfer.id == old).values(
            created_at=datetime.now(UTC) - timedelta(hours=3)))
    service.begin(runtime, {"provider": "scripted-b", "tx_id": "b-119", "direction": "deposit",
                        "player_id": "player-9", "amount": "20", "currency": "EUR"}, by="wallet")
    heartbeat.beat(runtime.redis, heartbeat.SWEEP, datetime.now(UTC))
    return review


def test_an_operator_resolves_a_reviewed_transfer_in_the_browser(runtime, server, page):
    # given a transfer in review among others
    review = some_history(runtime)
    ARTIFACTS.mkdir(exist_ok=True)

    # when the operator signs in from the keyboard: the token field has the focus, Enter submits
    page.goto(server + "/")
    expect(page).to_have_url(f"{server}/login?next=%2F")
    expect(page.get_by_label("Token")).to_be_focused()
    page.keyboard.type(OPERATOR_TOKEN)
    page.keyboard.press("Enter")
    # then
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_contain_text("olga")

    # and the dashboard shows the transfer under review, with the machine's reason
    review_row = page.locator("section", has=page.get_by_role("heading", name="Needs review"))
    expect(review_row).to_contain_text("dep-20931")
    expect(review_row).to_contain_text("disagrees with ours")
    # What waits for a person, by cause: the transfer under review is its instance's group,
    # which links to its transfers and offers its bulk actions.
    causes = page.locator("section", has=page.get_by_role(
        "heading", name="Waiting for a person, by cause"))
    group = causes.locator("tr", has=page.get_by_role("rowheader", name="scripted-a"))
    expect(group).to_contain_text("record disagrees with ours")
    expect(group.get_by_role("link", name="1", exact=True)).to_have_attribute(
        "href", "/transfers?provider=scripted-a&state=needs_review&cause=record_mismatch")
    expect(group.get_by_role("link", name="recheck all")).to_have_attribute(
        "href", "/bulk?action=recheck&provider=scripted-a&state=needs_review"
                "&cause=record_mismatch")
    # The oldest transfer of each open state, with its age and a link: never "nothing is
    # pending" while some wait in flight or in review.
    oldest = page.locator("section.card").first
    expect(oldest).to_contain_text("3 h")  # the oldest pending, b-118
    expect(oldest.locator("li")).to_have_count(3)
    expect(oldest).to_contain_text("in flight")
    expect(oldest).to_contain_text("b-119")
    expect(oldest.locator("li", has_text="needs review")).to_contain_text("dep-20931")
    # Provider health: each instance's breaker and the share of each outcome of its checks.
    health = page.locator("section", has=page.get_by_role("heading", name="Provider health"))
    checked_row = health.locator("tr", has=page.get_by_role("rowheader", name="scripted-a"))
    expect(checked_row).to_contain_text("closed")
    expect(checked_row).to_contain_text("MISMATCH 33%")
    expect(checked_row).to_contain_text("SUCCEEDED 33%")
    idle_row = health.locator("tr", has=page.get_by_role("rowheader", name="scripted-b"))
    expect(idle_row).to_contain_text("no checks")
    page.screenshot(path=str(ARTIFACTS / "admin-dashboard.png"), full_page=True)
    if os.environ.get("RESOLVER_UPDATE_SCREENSHOT") == "1":
        page.screenshot(path=str(DOCS_SCREENSHOT), full_page=True)

    # when they open it and resolve it with a reason
    review_row.get_by_role("link", name=f"#{review}").click()
    expect(page.get_by_role("heading", name=f"Transfer #{review}")).to_contain_text("review")
    page.screenshot(path=str(ARTIFACTS / "admin-transfer.png"), full_page=True)
    page.get_by_label("succeeded").check()
    page.get_by_label("Reason (kept in the audit record)").fill(
        "Provider back office shows the deposit credited")
    page.get_by_role("button", name="Resolve").click()

    # then, as it is irreversible, first what will happen: nothing has moved yet
    expect(page.get_by_role("heading", name=f"Resolve transfer #{review} as succeeded?")
           ).to_be_visible()
    expect(page.locator("#four-eyes")).to_contain_text("Not needed")
    expect(page.get_by_role("table")).to_contain_text("settled:scripted-a")
    page.screenshot(path=str(ARTIFACTS / "admin-confirm.png"), full_page=True)
    # when they confirm
    page.get_by_role("button", name="Confirm: resolve as succeeded").click()

    # then it is settled, with its ledger entries and the audit record of who and why
    expect(page.get_by_role("status")).to_contain_text("Resolved by hand as succeeded")
    expect(page.get_by_role("heading", name=f"Transfer #{review}")).to_contain_text("succeeded")
    ledger = page.locator("section", has=page.get_by_role("heading", name="Ledger entries"))
    expect(ledger.locator("tbody tr")).to_have_count(2)
    expect(ledger).to_contain_text("settle")
    expect(ledger).to_contain_text("settled:scripted-a")
    audit = page.locator("section", has=page.get_by_role("heading", name="Audit"))
    expect(audit).to_contain_text("olga")
    expect(audit).to_contain_text("Provider back office shows the deposit credited")
    expect(audit).to_contain_text("needs review → succeeded")
    expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "admin-resolved.png"), full_page=True)

    # when / then the dashboard no longer lists it under review; the list filters what is open
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_text("Nothing waits for a decision.")).to_be_visible()
    page.get_by_role("link", name="Transfers").click()
    page.get_by_label("Older than").fill("10m")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.grid tbody tr")).to_have_count(2)  # wd-7790 and b-118
    expect(page.locator("table.grid tbody tr").first).to_contain_text("b-118")

    # when / then the API reference is served from here (no internet), to the signed-in person
    page.get_by_role("link", name="API").click()
    expect(page.get_by_role("heading", name="transfer-resolver admin API")).to_be_visible()
    expect(page.get_by_text("/api/v1/transfers").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "admin-docs.png"), full_page=False)


def test_an_operator_rechecks_a_filtered_set_from_the_bulk_page(runtime, server, page):
    # given three transfers in review because scripted-a refused our credentials, and others
    ids = [stuck(runtime, f"auth-{n}", amount="12.50") for n in (1, 2, 3)]
    other_cause = stuck(runtime, "aged-1", cause="max_age")
    other_instance = stuck(runtime, "b-auth", provider="scripted-b")
    ARTIFACTS.mkdir(exist_ok=True)

    # when the operator opens the bulk page from a cause group's link and signs in
    page.goto(server + "/bulk?action=recheck&state=needs_review&provider=scripted-a&cause=auth")
    page.get_by_label("Token").fill(OPERATOR_TOKEN)
    page.keyboard.press("Enter")

    # then the preview counts only that set, with its total and rows
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.locator("#bulk-count")).to_have_text("3 transfers match")
    expect(page.get_by_text("Total: 37.5000 USD")).to_be_visible()
    expect(page.locator(".preview table.grid tbody tr")).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "admin-bulk-preview.png"), full_page=True)

    # when they confirm with a reason
    page.get_by_label("Reason").fill("Secret of scripted-a rotated; check them again")
    page.get_by_role("button", name="Recheck 3 transfers").click()

    # then each was rechecked, with one audit record each under one bulk id
    expect(page.get_by_role("status")).to_contain_text("3 rechecked, 0 refused, 0 not found")
    page.screenshot(path=str(ARTIFACTS / "admin-bulk-done.png"), full_page=True)
    with transaction(runtime.engine) as session:
        records = list(session.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars())
        states = dict(session.execute(select(Transfer.id, Transfer.state)).all())
    assert [(a.transfer_id, a.actor, a.action) for a in records] == [
        (t, "olga", "recheck") for t in ids]
    assert len({a.details["bulk_id"] for a in records}) == 1
    assert [states[t] for t in ids] == ["pending"] * 3
    assert states[other_cause] == states[other_instance] == "needs_review"


def sign_in(page: Page, server: str, token: str, name: str) -> None:
    page.goto(server + "/login")
    page.get_by_label("Token").fill(token)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Signed in as")).to_contain_text(name)


def resolve_and_confirm(page: Page, outcome: str, reason: str) -> None:
    page.get_by_label(outcome, exact=True).check()
    page.get_by_label("Reason (kept in the audit record)").fill(reason)
    page.get_by_role("button", name="Resolve").click()
    page.get_by_role("button", name="Confirm").click()


def test_a_proposal_needs_a_second_operator_in_the_browser(runtime, server, page):
    # given a transfer in review above the instance's four-eyes limit (1000 USD)
    transfer_id = in_review(runtime, tx_id="dep-big", amount="4800.00")
    ARTIFACTS.mkdir(exist_ok=True)

    # when / then olga resolves it: a second operator is needed, and it is proposed
    sign_in(page, server, OPERATOR_TOKEN, "olga")
    page.goto(f"{server}/transfers/{transfer_id}")
    page.get_by_label("failed", exact=True).check()
    page.get_by_label("Reason (kept in the audit record)").fill("Provider: never arrived")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#four-eyes")).to_contain_text("Needed")
    page.get_by_role("button", name="Confirm: propose").click()
    expect(page.get_by_role("status")).to_contain_text("another operator must approve")
    expect(page.locator("#open-proposal")).to_contain_text("proposed by olga")
    expect(page.get_by_role("heading", name=f"Transfer #{transfer_id}")).to_contain_text(
        "review")

    # when / then olga cannot approve her own proposal
    page.get_by_role("link", name="Proposals").click()
    page.get_by_role("link", name="#1").click()
    expect(page.get_by_text("You proposed this")).to_be_visible()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert")).to_contain_text("another operator must approve")
    expect(page.locator("#proposal-status")).to_have_text("open")

    # when / then another operator approves it: now it is resolved
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server, ADMIN_TOKEN, "admin")
    page.goto(f"{server}/proposals")
    page.get_by_role("link", name="#1").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("approved: 1 applied, 0 refused")
    expect(page.locator("#proposal-status")).to_have_text("approved")
    page.screenshot(path=str(ARTIFACTS / "admin-proposal.png"), full_page=True)
    page.get_by_role("link", name=f"#{transfer_id}").click()
    expect(page.get_by_role("heading", name=f"Transfer #{transfer_id}")).to_contain_text(
        "failed")
    audit = page.locator("section", has=page.get_by_role("heading", name="Audit"))
    expect(audit).to_contain_text("propose")
    expect(audit).to_contain_text("admin")


def test_a_mismatch_is_settled_at_the_provider_amount_in_the_browser(runtime, server, page):
    # given a deposit of 250 the provider recorded as 240
    SCRIPTS.record("scripted-a", "dep-mm", Decimal("240.00"), "USD")
    transfer_id = register(runtime, tx_id="dep-mm", amount="250.00")
    checked(runtime, transfer_id, "dep-mm", [Outcome.MISMATCH])

    # when olga settles it at the provider's amount
    sign_in(page, server, OPERATOR_TOKEN, "olga")
    page.goto(f"{server}/transfers/{transfer_id}")
    page.get_by_label("succeeded", exact=True).check()
    page.get_by_label("succeeded at the provider's amount").check()
    page.get_by_label("Reason (kept in the audit record)").fill("Provider statement: 240")
    page.get_by_role("button", name="Resolve").click()
    # then the confirmation shows the provider's amount and the suspense account
    expect(page.get_by_text("Provider's amount")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("suspense:scripted-a")
    # when she confirms
    page.get_by_role("button", name="Confirm: resolve as succeeded").click()

    # then it is settled, the difference in suspense
    expect(page.get_by_role("heading", name=f"Transfer #{transfer_id}")).to_contain_text(
        "succeeded")
    ledger = page.locator("section", has=page.get_by_role("heading", name="Ledger entries"))
    expect(ledger.locator("tbody tr")).to_have_count(3)
    expect(ledger).to_contain_text("suspense:scripted-a")
    expect(ledger).to_contain_text("240.0000")
    expect(ledger).to_contain_text("10.0000")
    page.screenshot(path=str(ARTIFACTS / "admin-provider-amount.png"), full_page=True)
