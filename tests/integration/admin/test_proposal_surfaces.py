"""Four-eyes and the provider's amount through the API, the command line and the web form."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from tests.integration.admin.support import (
    ADMIN_TOKEN,
    OPERATOR_TOKEN,
    VIEWER_TOKEN,
    bearer,
    in_review,
    mismatched,
)
from tests.integration.admin.test_auth import csrf_of, sign_in
from tests.integration.support import entries, load
from worker.cli import main

pytestmark = pytest.mark.integration

OLGA, ADMIN, VIEWER = bearer(OPERATOR_TOKEN), bearer(ADMIN_TOKEN), bearer(VIEWER_TOKEN)
BIG = "1500.00"


def test_the_api_answers_202_with_a_proposal_then_another_token_approves(runtime, client, engine):
    # given
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)

    # when olga resolves a big amount
    answer = client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=OLGA,
                         json={"outcome": "succeeded", "reason": "back office shows it"})

    # then a proposal is made and nothing is settled yet
    assert answer.status_code == 202
    proposal = answer.json()
    assert (proposal["status"], proposal["proposed_by"], proposal["items"][0]["amount"]) == (
        "open", "olga", "1500.0000")
    assert load(engine, transfer_id).state == "needs_review"
    made, expires = (datetime.fromisoformat(proposal[key]) for key in ("created_at",
                                                                          "expires_at"))
    ttl = timedelta(seconds=runtime.settings.proposal_ttl_s)
    assert expires - made == ttl == timedelta(hours=24)
    # when open proposals are listed
    listed = client.get("/api/v1/proposals", headers=VIEWER, params={"status": "open"}).json()
    # then
    assert [p["id"] for p in listed["items"]] == [proposal["id"]]

    # when / then a viewer may not approve
    url = f"/api/v1/proposals/{proposal['id']}"
    assert client.post(url + "/approve", headers=VIEWER).status_code == 403
    # when olga approves her own
    same = client.post(url + "/approve", headers=OLGA)
    # then
    assert same.status_code == 409
    assert "another operator" in same.json()["detail"]

    # when another operator approves
    approved = client.post(url + "/approve", headers=ADMIN)
    # then
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["items"][0]["state"]) == (
        "approved", "applied")
    assert load(engine, transfer_id).state == "succeeded"
    assert client.get(url, headers=VIEWER).json()["decided_by"] == "admin"
    # when / then an unknown proposal is 404
    assert client.get("/api/v1/proposals/999", headers=VIEWER).status_code == 404


def test_the_api_rejects_with_a_reason_and_a_small_amount_still_answers_200(runtime, client,
                                                                            engine):
    # given a proposal for a big amount
    big = in_review(runtime, tx_id="big", amount=BIG)
    proposal = client.post(f"/api/v1/transfers/{big}/resolve", headers=OLGA,
                           json={"outcome": "failed", "reason": "x"}).json()
    url = f"/api/v1/proposals/{proposal['id']}/reject"
    # when / then a reject needs a reason
    assert client.post(url, headers=ADMIN, json={}).status_code == 422
    # when rejected with one
    rejected = client.post(url, headers=ADMIN, json={"reason": "it did arrive"})
    # then
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    # when / then it cannot be rejected again
    assert client.post(url, headers=ADMIN, json={"reason": "again"}).status_code == 409

    # given a small amount
    small = in_review(runtime, tx_id="small")
    # when
    answer = client.post(f"/api/v1/transfers/{small}/resolve", headers=OLGA,
                         json={"outcome": "failed", "reason": "x"})
    # then
    assert answer.status_code == 200
    assert answer.json()["transfer"]["state"] == "failed"


def test_the_api_settles_a_mismatch_at_the_provider_amount_or_refuses_with_409(
        runtime, client, engine):
    # given
    transfer_id = mismatched(runtime, "mm", "100.00", "90.00")
    body = {"outcome": "succeeded", "reason": "statement shows 90", "at_provider_amount": True}
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=OLGA, json=body)
    # then
    assert answer.status_code == 200
    assert ("adjust", "transit:scripted-a", "suspense:scripted-a", Decimal("10.0000")) in \
        entries(engine, transfer_id)

    # given
    plain = in_review(runtime, tx_id="plain")  # a mismatch with no amount on record
    # when
    refused = client.post(f"/api/v1/transfers/{plain}/resolve", headers=OLGA, json=body)
    # then
    assert refused.status_code == 409
    assert "did not state an amount" in refused.json()["detail"]
    # when failing it at the provider's amount
    failed = client.post(f"/api/v1/transfers/{plain}/resolve", headers=OLGA,
                         json={**body, "outcome": "failed"})
    # then
    assert (failed.status_code, failed.json()["field"]) == (422, "at_provider_amount")


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


def test_the_cli_says_when_it_made_a_proposal_and_approves_by_another_name(runtime, engine):
    # given
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)

    # when maria resolves a big amount
    made = run("resolve", str(transfer_id), "--as", "failed", "--by", "maria",
               "--reason", "provider support: never arrived")
    # then
    assert "proposal 1 created: a second operator must approve it" in made.output
    assert load(engine, transfer_id).state == "needs_review"

    # when / then the proposal is listed and shown
    listed = json.loads(run("proposals", "list", "--json").output)
    assert [p["id"] for p in listed["items"]] == [1]
    assert "provider support: never arrived" in run("proposals", "show", "1").output

    # when maria approves her own
    refused = run("proposals", "approve", "1", "--by", "maria", code=2)
    # then
    assert "another operator must approve" in refused.output
    # when another name approves
    approved = run("proposals", "approve", "1", "--by", "tom")
    # then
    assert "approved" in approved.output
    assert load(engine, transfer_id).state == "failed"
    # when / then it cannot be rejected after
    assert "already approved" in run("proposals", "reject", "1", "--by", "x", "--reason", "y",
                                     code=2).output
    # when / then an unknown proposal is refused
    assert "no proposal with id 7" in run("proposals", "show", "7", code=2).output


def test_the_cli_settles_at_the_provider_amount(runtime, engine):
    # given
    transfer_id = mismatched(runtime, "mm", "100.00", "90.00")
    # when
    result = json.loads(run("resolve", str(transfer_id), "--as", "succeeded",
                            "--at-provider-amount", "--by", "maria",
                            "--reason", "statement shows 90", "--json").output)
    # then
    assert result["audit"]["details"]["provider_amount"] == "90.0000"
    assert load(engine, transfer_id).state == "succeeded"
    # given a mismatch with no amount on record
    other = in_review(runtime, tx_id="plain")
    # when
    refused = run("resolve", str(other), "--as", "succeeded", "--at-provider-amount",
                  "--by", "maria", "--reason", "x", code=2)
    # then
    assert "did not state an amount" in refused.output


def test_the_web_form_confirms_first_then_proposes_and_shows_the_proposal(runtime, client, engine):
    # given
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)
    sign_in(client, OPERATOR_TOKEN)
    # when the transfer's page is opened
    page = client.get(f"/transfers/{transfer_id}")
    # then
    assert 'name="reason"' in page.text.split("Recheck now")[0]  # recheck has a reason field
    assert "at the provider's amount" not in page.text  # no amount on record: not offered

    # when the form is posted
    form = {"outcome": "succeeded", "reason": "seen credited", "csrf_token": csrf_of(page.text)}
    confirm = client.post(f"/transfers/{transfer_id}/resolve", data=form)
    # then a confirmation is asked and nothing is done yet
    assert confirm.status_code == 200
    assert "Needed" in confirm.text and "settle" in confirm.text and "1500.0000" in confirm.text
    assert load(engine, transfer_id).state == "needs_review"

    # when confirming
    done = client.post(f"/transfers/{transfer_id}/resolve",
                       data={**form, "confirmed": "1", "csrf_token": csrf_of(confirm.text)})
    # then
    assert "Proposal 1 made" in done.text
    assert "Waiting for a second operator" in done.text
    assert "approve or reject it first" in done.text and "Resolve…" not in done.text
    # when / then the proposal is listed
    assert "#1" in client.get("/proposals").text
    # when olga approves her own
    refused = client.post("/proposals/1/approve", data={"csrf_token": csrf_of(done.text)})
    # then
    assert "another operator must approve" in refused.text
    assert load(engine, transfer_id).state == "needs_review"


def test_the_web_offers_the_provider_amount_only_for_an_amount_mismatch(runtime, client, engine):
    # given
    transfer_id = mismatched(runtime, "mm", "100.00", "90.00")
    sign_in(client, OPERATOR_TOKEN)
    # when the transfer's page is opened
    page = client.get(f"/transfers/{transfer_id}")
    # then
    assert "succeeded at the provider's amount, 90.0000 USD" in page.text
    # when the form is posted at the provider's amount
    form = {"outcome": "succeeded", "reason": "statement", "at_provider_amount": "1",
            "csrf_token": csrf_of(page.text)}
    confirm = client.post(f"/transfers/{transfer_id}/resolve", data=form)
    # then
    assert "suspense:scripted-a" in confirm.text and "Not needed" in confirm.text
    # when confirming
    client.post(f"/transfers/{transfer_id}/resolve",
                data={**form, "confirmed": "1", "provider_amount": "90.0000",
                      "csrf_token": csrf_of(confirm.text)})
    # then
    assert load(engine, transfer_id).state == "succeeded"
