"""Bulk recheck and resolve by filter: the preview, the fingerprint, the run, on every surface."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from models import AuditRecord, OutboxEvent, Transfer
from tests.integration.admin.support import (
    OPERATOR_TOKEN,
    VIEWER_TOKEN,
    bearer,
    mismatched,
    stuck,
    with_tokens,
)
from tests.integration.admin.test_auth import csrf_of, sign_in
from tests.integration.support import count, entries, load, register
from worker.admin import actions, bulk, inputs, proposals
from worker.admin.app import create_app
from worker.cli import main
from worker.domain.refusal import InvalidInput
from worker.engine.resolve import ledger
from worker.process.db import transaction

pytestmark = pytest.mark.integration

OPERATOR, VIEWER = bearer(OPERATOR_TOKEN), bearer(VIEWER_TOKEN)
AUTH_FAILURES = {"state": "needs_review", "provider": "scripted-a", "cause": "auth"}
LIMIT = 10_000


def auth_filter() -> Any:
    return inputs.transfer_filter(("needs_review",), provider="scripted-a", cause_text="auth")


def audits(engine: Any) -> list[AuditRecord]:
    with transaction(engine) as session:
        return list(session.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars())


# The filter on the list

def test_the_list_filters_by_cause_currency_time_and_amount(runtime, client):
    # given two auth failures, one old max_age failure and one pending transfer
    small = stuck(runtime, "a-1", amount="5.00")
    big = stuck(runtime, "a-2", amount="500.00", currency="EUR")
    old = stuck(runtime, "m-1", cause="max_age", amount="50.00")
    with transaction(runtime.engine) as session:
        session.execute(update(Transfer).where(Transfer.id == old).values(
            created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    register(runtime, tx_id="p-1")  # pending, never checked

    def ids(**params: str) -> list[int]:
        answer = client.get("/api/v1/transfers", params=params, headers=VIEWER)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    # when / then each filter lists just its transfers
    assert ids(cause="auth") == [small, big]
    assert ids(cause="max_age") == [old]
    assert ids(currency="eur") == [big]
    assert ids(state="needs_review", registered_before="2026-06-01T00:00:00+00:00") == [old]
    assert ids(state="needs_review", registered_after="1h") == [small, big]
    assert ids(min_amount="20", max_amount="100") == [old]  # the others hold 5, 10 and 500
    assert ids(min_amount="500.0000") == [big]
    # when / then a bad filter is refused naming its field
    for params, field in (({"cause": "auth_error"}, "cause"), ({"min_amount": "-1"}, "min_amount"),
                          ({"min_amount": "9", "max_amount": "1"}, "max_amount"),
                          ({"registered_after": "2026-01-01T00:00"}, "registered_after")):
        answer = client.get("/api/v1/transfers", params=params, headers=VIEWER)
        assert (answer.status_code, answer.json()["field"]) == (422, field), params


def test_the_pending_command_takes_the_same_filter(runtime):
    # given one auth failure and one max_age failure
    auth = stuck(runtime, "a-1")
    stuck(runtime, "m-1", cause="max_age")
    # when
    result = CliRunner().invoke(main, ["pending", "--cause", "auth", "--json"])
    # then only the auth failure is listed
    assert result.exit_code == 0, result.output
    assert f'"id": {auth}' in result.output and "m-1" not in result.output
    # when / then an unknown cause is refused, naming the known ones
    refused = CliRunner().invoke(main, ["pending", "--cause", "nope"])
    assert refused.exit_code == 2 and "known: not_configured" in refused.output


# Preview and confirm

def test_a_confirmed_preview_rechecks_exactly_the_previewed_set(runtime):
    # given three auth failures, one of another instance's cause and one pending transfer
    chosen = [stuck(runtime, f"a-{n}", amount=f"{n}0.00") for n in (1, 2, 3)]
    other = stuck(runtime, "m-1", cause="max_age")
    waiting = register(runtime, tx_id="p-1")
    # when an operator previews the auth failures
    found = bulk.preview(runtime.engine, auth_filter(), bulk.Action("recheck"), limit=LIMIT)
    # then the preview counts them, totals their amounts and names its action
    assert (found.count, found.ids) == (3, chosen)
    assert {k: str(v) for k, v in found.totals.items()} == {"USD": "60.0000"}
    assert [row["id"] for row in found.first] == chosen
    assert "recheck 3 transfer(s)" in found.description
    assert count(runtime.engine, AuditRecord) == 0  # a preview writes nothing
    # when they confirm with its fingerprint
    run = bulk.confirm(runtime.engine, auth_filter(), bulk.Action("recheck"), found.fingerprint,
                       actor="olga", reason="secret rotated", limit=LIMIT)
    # then each of the three went back to pending with one audit record, tied by the bulk id
    assert [(r.transfer_id, r.status) for r in run.results] == [(t, "applied") for t in chosen]
    records = audits(runtime.engine)
    assert [(a.transfer_id, a.action, a.actor, a.reason) for a in records] == [
        (t, "recheck", "olga", "secret rotated") for t in chosen]
    assert {a.details["bulk_id"] for a in records} == {run.bulk_id}
    assert [load(runtime.engine, t).state for t in chosen] == ["pending"] * 3
    # and nothing else was touched, and no event was written for a recheck
    assert load(runtime.engine, other).state == "needs_review"
    assert load(runtime.engine, waiting).state == "pending"
    assert count(runtime.engine, OutboxEvent) == 0


@pytest.mark.parametrize("change", ["a transfer added", "a transfer changed"])
def test_a_set_that_changed_since_the_preview_is_refused_and_nothing_written(runtime, change):
    first = stuck(runtime, "a-1")
    stuck(runtime, "a-2")
    found = bulk.preview(runtime.engine, auth_filter(), bulk.Action("recheck"), limit=LIMIT)
    # given the set changes between the preview and the confirmation
    if change == "a transfer added":
        stuck(runtime, "a-3")
        expected = "3 now, 2 then"
    else:
        with transaction(runtime.engine) as session:
            session.execute(update(Transfer).where(Transfer.id == first).values(
                updated_at=datetime.now(UTC)))
        expected = "2 now, 2 then"
    # when confirmed, then it is refused saying how, and no transfer was acted on
    with pytest.raises(bulk.BulkRefused, match=f"changed since the preview: {expected}; "
                                               f"preview again") as refused:
        bulk.confirm(runtime.engine, auth_filter(), bulk.Action("recheck"), found.fingerprint,
                     actor="olga", reason="secret rotated", limit=LIMIT)
    assert refused.value.exit_code == 2
    assert count(runtime.engine, AuditRecord) == 0
    assert load(runtime.engine, first).state == "needs_review"


def test_a_transfer_settled_during_the_run_is_reported_and_the_others_applied(runtime):
    # given three auth failures, previewed
    ids = [stuck(runtime, f"a-{n}") for n in (1, 2, 3)]
    found = bulk.preview(runtime.engine, auth_filter(), bulk.Action("recheck"), limit=LIMIT)

    def settle_the_next_one(result: bulk.Result) -> None:
        if result.transfer_id == ids[0]:  # someone resolves the second meanwhile
            actions.resolve_by_hand(runtime.engine, ids[1], "failed", actor="vera",
                                    reason="support confirmed")

    # when they are rechecked while someone resolves the second
    run = bulk.confirm(runtime.engine, auth_filter(), bulk.Action("recheck"), found.fingerprint,
                       actor="olga", reason="secret rotated", limit=LIMIT,
                       progress=settle_the_next_one)
    # then the second is reported refused and the others applied
    assert [(r.transfer_id, r.status) for r in run.results] == [
        (ids[0], "applied"), (ids[1], "refused"), (ids[2], "applied")]
    assert "already failed" in run.results[1].detail
    assert (run.count("applied"), run.count("refused"), run.complete) == (2, 1, False)
    assert [load(runtime.engine, t).state for t in ids] == ["pending", "failed", "pending"]


def test_a_confirmation_needs_a_reason_and_the_fingerprint(runtime):
    # given a preview
    stuck(runtime, "a-1")
    found = bulk.preview(runtime.engine, auth_filter(), bulk.Action("recheck"), limit=LIMIT)
    # when / then a blank reason or fingerprint is refused, and nothing is written
    for reason, fingerprint, field in (("  ", found.fingerprint, "reason"),
                                       ("why", "", "fingerprint")):
        with pytest.raises(InvalidInput) as refused:
            bulk.confirm(runtime.engine, auth_filter(), bulk.Action("recheck"), fingerprint,
                         actor="olga", reason=reason, limit=LIMIT)
        assert refused.value.field == field
    assert count(runtime.engine, AuditRecord) == 0


def test_more_than_the_cap_is_refused(runtime):
    # given three auth failures
    for n in range(3):
        stuck(runtime, f"a-{n}")
    # when / then a preview over a cap of two is refused
    with pytest.raises(bulk.BulkRefused, match="3 transfers match; a bulk action takes at "
                                               "most 2"):
        bulk.preview(runtime.engine, auth_filter(), bulk.Action("recheck"), limit=2)


def test_a_bulk_resolve_becomes_one_proposal_and_moves_nothing_until_approved(runtime):
    # given two transfers in review for the same cause
    ids = [stuck(runtime, f"a-{n}") for n in (1, 2)]
    act = bulk.Action("resolve", "failed")
    found = bulk.preview(runtime.engine, auth_filter(), act, limit=LIMIT)
    assert found.ids == ids and "one four-eyes proposal for the whole set" in found.description
    # when an operator confirms the preview
    run = bulk.confirm(runtime.engine, auth_filter(), act, found.fingerprint, actor="olga",
                       reason="never arrived", limit=LIMIT)
    # then one bulk proposal covers both, and nothing is settled yet
    assert run.proposal is not None and run.proposal.bulk and run.proposal.status == "open"
    assert [item.transfer_id for item in run.proposal.items] == ids
    assert [load(runtime.engine, t).state for t in ids] == ["needs_review"] * 2
    assert count(runtime.engine, OutboxEvent) == 0
    # when the proposer tries to approve it, then it is refused
    with pytest.raises(actions.ActionRefused):
        proposals.approve(runtime.engine, run.proposal.id, actor="olga")
    # when a second operator approves it, then each transfer is resolved with its event
    approved = proposals.approve(runtime.engine, run.proposal.id, actor="vic")
    assert [item.state for item in approved.items] == ["applied", "applied"]
    assert [load(runtime.engine, t).state for t in ids] == ["failed"] * 2
    assert count(runtime.engine, OutboxEvent) == 2


def test_a_bulk_resolve_over_a_transfer_already_proposed_is_refused_whole(runtime):
    # given two transfers in review, one of them already in an open proposal
    ids = [stuck(runtime, f"a-{n}") for n in (1, 2)]
    proposals.propose(runtime.engine, [ids[0]], "failed", actor="olga", reason="one first")
    act = bulk.Action("resolve", "failed")
    found = bulk.preview(runtime.engine, auth_filter(), act, limit=LIMIT)
    # when the whole set is confirmed, then the proposal is refused naming the transfer
    with pytest.raises(actions.ActionRefused, match=str(ids[0])):
        bulk.confirm(runtime.engine, auth_filter(), act, found.fingerprint, actor="olga",
                     reason="never arrived", limit=LIMIT)
    # and only the earlier proposal exists
    assert len(proposals.list_proposals(runtime.engine)) == 1


def test_amount_mismatches_are_settled_at_the_providers_amounts_in_one_proposal(runtime):
    # given two deposits the provider recorded at other amounts, and one whose player differs
    short = mismatched(runtime, "mm-1", ours="100.00", theirs="90.00")
    over = mismatched(runtime, "mm-2", ours="50.00", theirs="55.00")
    mismatched(runtime, "mm-3", ours="70.00", theirs="70.00", currency="EUR")  # another currency
    mismatches = inputs.transfer_filter(("needs_review",), provider="scripted-a",
                                        cause_text="amount_mismatch")
    act = bulk.action("settle_at_provider_amount")
    # when the amount-mismatch group is previewed, then only the two amount mismatches match
    found = bulk.preview(runtime.engine, mismatches, act, limit=LIMIT)
    assert found.ids == [short, over]
    assert "at the amount the provider recorded" in found.description
    # when it is confirmed and a second operator approves the proposal
    run = bulk.confirm(runtime.engine, mismatches, act, found.fingerprint, actor="olga",
                       reason="provider statement of 2026-12-03", limit=LIMIT)
    assert run.proposal is not None and run.proposal.at_provider_amount
    proposals.approve(runtime.engine, run.proposal.id, actor="vic")
    # then each settled at its provider's amount, the difference in suspense, books balanced
    assert [load(runtime.engine, t).state for t in (short, over)] == ["succeeded"] * 2
    assert entries(runtime.engine, short)[1:] == [
        ("settle", "transit:scripted-a", "settled:scripted-a", Decimal("90.0000")),
        ("adjust", "transit:scripted-a", "suspense:scripted-a", Decimal("10.0000"))]
    with transaction(runtime.engine) as session:
        assert ledger.currency_totals(session) == {"USD": Decimal(0)}


# The API

def test_the_api_previews_and_confirms(runtime, client):
    # given two auth failures
    ids = [stuck(runtime, f"a-{n}", amount="2.50") for n in (1, 2)]
    body = {"filter": AUTH_FAILURES, "action": "recheck"}
    # when a viewer previews them
    preview = client.post("/api/v1/bulk/preview", json=body, headers=VIEWER)
    # then
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert (shown["count"], shown["totals"]) == (2, [{"currency": "USD", "total": "5.0000"}])
    assert [t["id"] for t in shown["first"]] == ids
    # when / then a viewer cannot confirm
    confirm = {**body, "reason": "secret rotated", "fingerprint": shown["fingerprint"]}
    assert client.post("/api/v1/bulk/confirm", json=confirm, headers=VIEWER).status_code == 403
    # when an operator confirms
    done = client.post("/api/v1/bulk/confirm", json=confirm, headers=OPERATOR)
    # then both were rechecked
    assert done.status_code == 200, done.text
    assert (done.json()["applied"], done.json()["refused"]) == (2, 0)
    assert {r["status"] for r in done.json()["results"]} == {"applied"}
    # when the same confirmation is sent again
    again = client.post("/api/v1/bulk/confirm", json=confirm, headers=OPERATOR)
    # then the set changed (they are pending now): 409, and nothing more is done
    assert again.status_code == 409
    assert "0 now, 2 then; preview again" in again.json()["detail"]
    assert count(runtime.engine, AuditRecord) == 2


def test_the_api_refuses_bad_bodies_and_the_cap_and_proposes_a_resolve(runtime, app):
    from fastapi.testclient import TestClient

    # given two auth failures and an app that takes at most one per bulk action
    stuck(runtime, "a-1")
    stuck(runtime, "a-2")
    capped = dataclasses.replace(with_tokens(runtime),
                                 settings=with_tokens(runtime).settings.model_copy(
        update={"bulk_max": 1}))
    with TestClient(create_app(lambda: capped)) as small, TestClient(app) as client:
        # when / then a preview over the cap is refused
        too_many = small.post("/api/v1/bulk/preview", headers=OPERATOR,
                              json={"filter": AUTH_FAILURES, "action": "recheck"})
        assert too_many.status_code == 409 and "at most 1" in too_many.json()["detail"]
        # when / then bad bodies are refused naming their field
        for body, field in (({"filter": {"cause": "autth"}, "action": "recheck"}, "cause"),
                            ({"action": "resolve"}, "outcome"),
                            ({"filter": {"state": "failed"}, "action": "recheck"}, "state")):
            answer = client.post("/api/v1/bulk/preview", json=body, headers=OPERATOR)
            assert (answer.status_code, answer.json()["field"]) == (422, field), body
        # when a resolve is previewed and confirmed
        resolve = {"filter": AUTH_FAILURES, "action": "resolve", "outcome": "failed"}
        shown = client.post("/api/v1/bulk/preview", json=resolve, headers=OPERATOR).json()
        answer = client.post("/api/v1/bulk/confirm", headers=OPERATOR, json={
            **resolve, "reason": "never arrived", "fingerprint": shown["fingerprint"]})
        # then it is proposed, not applied
        assert answer.status_code == 200, answer.text
        proposal = answer.json()["proposal"]
        assert (proposal["status"], proposal["bulk"], proposal["proposed_by"]) == (
            "open", True, "olga")
        assert answer.json()["results"] == []
    # then one `propose` audit record per transfer, nothing settled
    with transaction(runtime.engine) as session:
        assert session.scalars(select(AuditRecord.action)).all() == ["propose", "propose"]
        assert set(session.scalars(select(Transfer.state)).all()) == {"needs_review"}


# The web page

def test_the_page_previews_and_a_viewer_cannot_confirm(runtime, client):
    # given an auth failure and a signed-in viewer
    stuck(runtime, "a-1")
    sign_in(client, VIEWER_TOKEN)
    # when the viewer previews it
    page = client.get("/bulk", params={"action": "recheck", **AUTH_FAILURES})
    # then
    assert page.status_code == 200
    assert "1 transfer match" in page.text and "operator can confirm" in page.text
    # when the viewer confirms
    posted = client.post("/bulk", data={"csrf_token": csrf_of(page.text), "action": "recheck",
                                        **AUTH_FAILURES, "reason": "x", "fingerprint": "1-0"})
    # then it is refused and nothing is written
    assert posted.status_code == 403
    assert count(runtime.engine, AuditRecord) == 0


def test_the_page_refuses_a_stale_preview_and_shows_the_new_set(runtime, client):
    # given a preview by an operator
    stuck(runtime, "a-1")
    sign_in(client, OPERATOR_TOKEN)
    page = client.get("/bulk", params={"action": "recheck", **AUTH_FAILURES})
    fingerprint = page.text.split('name="fingerprint" value="')[1].split('"')[0]
    # and a transfer added since
    stuck(runtime, "a-2")
    # when the preview is confirmed
    posted = client.post("/bulk", data={"csrf_token": csrf_of(page.text), "action": "recheck",
                                        **AUTH_FAILURES, "reason": "rotated",
                                        "fingerprint": fingerprint})
    # then it is refused and the page shows the new set
    assert posted.status_code == 409
    assert "2 now, 1 then" in posted.text and "2 transfers match" in posted.text
    assert count(runtime.engine, AuditRecord) == 0


# The command line

def cli(*args: str, code: int = 0, given: str | None = None) -> str:
    result = CliRunner().invoke(main, list(args), input=given)
    assert result.exit_code == code, result.output
    return result.output


BULK_RECHECK = ("recheck", "--provider", "scripted-a", "--state", "needs_review",
                "--cause", "auth", "--reason", "secret rotated")


def test_the_cli_previews_asks_and_rechecks(runtime):
    # given two auth failures
    ids = [stuck(runtime, f"a-{n}") for n in (1, 2)]
    # when the operator declines at the prompt
    declined = cli(*BULK_RECHECK, given="n\n")
    # then the preview is shown and nothing done
    assert "2 transfer(s) match." in declined and "total: 20.0000 USD" in declined
    assert "fingerprint: 2-" in declined and "nothing done" in declined
    assert count(runtime.engine, AuditRecord) == 0
    # when they agree
    done = cli(*BULK_RECHECK, given="y\n")
    # then both are rechecked
    assert "2 rechecked, 0 refused, 0 not found" in done
    assert [a.transfer_id for a in audits(runtime.engine)] == ids


def test_the_cli_confirms_a_printed_fingerprint_without_asking(runtime):
    # given a preview and its fingerprint
    stuck(runtime, "a-1")
    printed = cli(*BULK_RECHECK, given="n\n")
    fingerprint = printed.split("fingerprint: ")[1].split()[0]
    # when / then --yes alone is refused: a script confirms a preview it printed
    assert "--yes needs --fingerprint" in cli(*BULK_RECHECK, "--yes", code=2)
    # given a transfer added since
    stuck(runtime, "a-2")
    # when the printed fingerprint is confirmed
    stale = cli(*BULK_RECHECK, "--yes", "--fingerprint", fingerprint, code=2)
    # then the stale preview is refused and nothing is written
    assert "changed since the preview: 2 now, 1 then; preview again" in stale
    assert count(runtime.engine, AuditRecord) == 0
    # when / then a fresh fingerprint is confirmed
    fresh = cli(*BULK_RECHECK, given="n\n").split("fingerprint: ")[1].split()[0]
    assert "2 rechecked" in cli(*BULK_RECHECK, "--yes", "--fingerprint", fresh)


def test_the_cli_keeps_the_single_recheck_and_exits_2_on_a_refusal(runtime, monkeypatch):
    # given one transfer in review
    single = stuck(runtime, "a-1")
    # when / then a single recheck still works, and refuses a filter as well
    assert f"transfer {single} needs_review -> pending" in cli("recheck", str(single))
    assert "name one transfer" in cli("recheck", str(single), "--cause", "auth", code=2)
    # given a second, and a preview of both
    settled_id = stuck(runtime, "a-2")
    printed = cli("recheck", "--state", "needs_review", "--reason", "r", given="n\n")
    fingerprint = printed.split("fingerprint: ")[1].split()[0]
    # and a transfer settled after the preview but before the run
    original = bulk.recheck_each

    def settle_first(engine: Any, ids: Any, **kwargs: Any) -> Any:
        actions.resolve_by_hand(engine, settled_id, "failed", actor="vera", reason="x")
        return original(engine, ids, **kwargs)

    monkeypatch.setattr(bulk, "recheck_each", settle_first)
    # when confirmed
    out = cli("recheck", "--state", "needs_review", "--reason", "r", "--yes",
              "--fingerprint", fingerprint, code=2)
    # then the settled one is reported, with exit 2
    assert f"transfer {settled_id}: refused: transfer {settled_id} is already failed" in out
    assert "0 rechecked, 1 refused" in out


def test_the_cli_bulk_resolve_previews_then_makes_one_proposal(runtime):
    # given two transfers in review for the same cause
    stuck(runtime, "a-1")
    stuck(runtime, "a-2")
    # when an operator resolves them by filter and answers yes
    out = cli("resolve", "--provider", "scripted-a", "--cause", "auth", "--outcome", "failed",
              "--reason", "never arrived", "--by", "olga", given="y\n")
    # then the preview said it becomes a proposal, and one proposal covers both
    assert "four-eyes proposal" in out
    assert "proposal 1 created for 2 transfer(s)" in out
    assert "resolver proposals approve 1 --by NAME" in out
    (made,) = proposals.list_proposals(runtime.engine)
    assert made.bulk and len(made.items) == 2 and made.status == "open"


def test_the_page_confirms_and_streams_progress_then_the_results(runtime, client):
    # given three auth failures, previewed by an operator
    ids = [stuck(runtime, f"a-{n}") for n in (1, 2, 3)]
    sign_in(client, OPERATOR_TOKEN)
    page = client.get("/bulk", params={"action": "recheck", **AUTH_FAILURES})
    fingerprint = page.text.split('name="fingerprint" value="')[1].split('"')[0]
    # when the operator confirms
    posted = client.post("/bulk", data={"csrf_token": csrf_of(page.text), "action": "recheck",
                                        **AUTH_FAILURES, "reason": "rotated",
                                        "fingerprint": fingerprint})
    # then the page streams the progress, then the results
    assert posted.status_code == 200
    assert "3 of 3 done" in posted.text and "3 rechecked, 0 refused" in posted.text
    assert "script-src 'nonce-" in posted.headers["content-security-policy"]
    assert [a.transfer_id for a in audits(runtime.engine)] == ids
    assert {a.reason for a in audits(runtime.engine)} == {"rotated"}


def test_the_page_asks_for_a_resolve_outcome_and_names_a_bad_field(runtime, client):
    # given an auth failure and a signed-in operator
    stuck(runtime, "a-1")
    sign_in(client, OPERATOR_TOKEN)
    # when / then a resolve without an outcome asks for it
    asked = client.get("/bulk", params={"action": "resolve", **AUTH_FAILURES})
    assert asked.status_code == 200 and "Choose the outcome" in asked.text
    # when / then a resolve with an outcome previews a proposal
    shown = client.get("/bulk", params={"action": "resolve", "outcome": "failed",
                                        **AUTH_FAILURES})
    assert "one four-eyes proposal for the whole set" in shown.text
    assert "Propose resolving 1 as failed" in shown.text
    # when / then a bad field is named
    for params, words in (({"cause": "autth"}, "cause: unknown cause"),
                          ({"provider": "a\x00b"}, "provider: must not contain control"),
                          ({"min_amount": "\u0661\u0660"}, "min_amount: must be a plain decimal")):
        bad = client.get("/bulk", params={"action": "recheck", **params})
        assert bad.status_code == 400 and words in bad.text, params


def test_a_script_reads_the_preview_and_the_results_as_json(runtime):
    import json

    # given two auth failures
    ids = [stuck(runtime, f"a-{n}") for n in (1, 2)]
    # when a script previews them as json
    shown = json.loads(cli(*BULK_RECHECK, "--json"))
    # then it reads the preview, and nothing is done
    assert (shown["count"], [t["id"] for t in shown["first"]]) == (2, ids)
    assert count(runtime.engine, AuditRecord) == 0  # --json alone previews, never asks, never acts
    # when it confirms the printed fingerprint
    done = json.loads(cli(*BULK_RECHECK, "--json", "--yes",
                          "--fingerprint", shown["fingerprint"]).splitlines()[-1])
    # then it reads the results
    assert (done["applied"], [r["transfer_id"] for r in done["results"]]) == (2, ids)
