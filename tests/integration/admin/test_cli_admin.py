"""`resolver pending | show | recheck | resolve | stats | admin` against the real Postgres."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from models import AuditRecord, Transfer
from tests.integration.admin.support import in_review, settled
from tests.integration.support import count, entries, events, load, register
from worker.cli import main
from worker.process.db import transaction
from worker.process.runtime import use_runtime

pytestmark = pytest.mark.integration


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


def as_json(*args: str):
    return json.loads(run(*args, "--json").output)


def test_pending_lists_what_is_not_final_oldest_first(runtime, engine):
    # given
    review = in_review(runtime, tx_id="r-1")
    settled(runtime)
    old = register(runtime, tx_id="p-old")
    with transaction(engine) as session:
        session.execute(update(Transfer).where(Transfer.id == old)
                        .values(created_at=datetime.now(UTC) - timedelta(minutes=20)))

    # when the queue is listed
    table = run("pending").output.splitlines()
    # then
    assert table[0].split() == ["ID", "PROVIDER", "TX_ID", "STATE", "AGE", "AMOUNT", "CHECKS",
                                "LAST", "NEXT"]
    assert [line.split()[0] for line in table[1:]] == [str(old), str(review), "why:"]
    assert "20 min" in table[1] and "10.00 USD" in table[1]
    assert "disagrees" in table[3]  # why it waits for a person, under its row

    # when / then with filters and pages
    assert [t["id"] for t in as_json("pending", "--state", "needs_review")["items"]] == [review]
    assert [t["id"] for t in as_json("pending", "--older-than", "10m")["items"]] == [old]
    page = as_json("pending", "--limit", "1")
    assert page["next_cursor"] and len(page["items"]) == 1
    assert as_json("pending", "--cursor", page["next_cursor"])["items"][0]["id"] == review


def test_pending_shows_a_long_reason_whole_within_100_columns(runtime, engine):
    # given a transfer under review with a reason far longer than a line
    transfer_id = in_review(runtime, tx_id="tx-long-reason")
    reason = " ".join(f"word{n}" for n in range(60)) + " the provider's record disagrees"
    with transaction(engine) as session:
        session.execute(update(Transfer).where(Transfer.id == transfer_id)
                        .values(review_reason=reason))
    # when the queue is listed
    lines = run("pending").output.splitlines()
    # then no line runs past 100 columns, and every word of the reason is there, in order
    assert max(len(line) for line in lines) <= 100
    shown = " ".join(" ".join(line.split()) for line in lines)
    assert " ".join(reason.split()) in shown


def test_pending_refuses_an_unknown_provider_and_names_the_configured_ones(runtime):
    # when
    result = run("pending", "--provider", "nobody", code=2)
    # then
    assert "nobody" in result.output and "configured: scripted-a" in result.output


def test_pending_lists_an_instance_no_longer_configured_that_has_transfers(runtime):
    # given a transfer of scripted-a, and then scripted-a taken out of the providers file
    transfer_id = register(runtime, tx_id="left-behind")
    use_runtime(dataclasses.replace(runtime, providers={}))
    # when / then asked for by name, its transfers are listed
    assert [t["id"] for t in as_json("pending", "--provider", "scripted-a")["items"]] == [
        transfer_id]


def test_pending_refuses_a_bad_duration(runtime):
    # when
    result = run("pending", "--older-than", "a while", code=2)
    # then
    assert "older_than" in result.output


def test_show_prints_the_whole_story_by_id_or_by_tx_id(runtime):
    # given
    transfer_id = in_review(runtime)
    # when
    by_id = run("show", str(transfer_id)).output
    # then
    for expected in ("needs_review", "MISMATCH", "hold", "player:player-7",
                     "transfer.needs_review", "disagrees", "UTC"):
        assert expected in by_id
    # when / then by tx_id the same story is told
    assert run("show", "scripted-a:tx-review").output == by_id
    assert run("show", "--provider", "scripted-a", "--tx-id", "tx-review").output == by_id
    # when asked for JSON
    history = as_json("show", str(transfer_id))
    # then
    assert [c["outcome"] for c in history["checks"]] == ["MISMATCH"]
    assert history["amount"] == "10.0000"


def test_show_and_complete_speak_of_a_contradiction(runtime):
    # given a transfer the engine settled as succeeded
    transfer_id = settled(runtime, tx_id="told-otherwise")
    # when the wallet reports it failed
    refused = run("complete", "--provider", "scripted-a", "--tx-id", "told-otherwise",
                  "--as", "failed", "--by", "wallet", code=2)
    # then `complete` refuses with the conflict (exit 2)
    assert "already succeeded" in refused.output
    # when / then `show` says so in its facts
    history = run("show", str(transfer_id)).output
    assert "CONTRADICTED" in history and "caller:wallet reported failed" in history


def test_show_refuses_what_it_cannot_find(runtime):
    # when / then
    assert "no transfer" in run("show", "999", code=2).output
    assert "no transfer" in run("show", "scripted-a:nope", code=2).output
    assert "name the transfer" in run("show", code=2).output


def test_resolve_settles_by_hand_and_records_who_and_why(runtime, engine):
    # given
    transfer_id = in_review(runtime)
    # when
    result = as_json("resolve", str(transfer_id), "--as", "succeeded", "--by", "maria",
                     "--reason", "provider back office shows it credited")
    # then
    assert result["transfer"]["state"] == "succeeded"
    assert result["audit"]["actor"] == "maria"
    assert load(engine, transfer_id).resolved_by == "admin:maria"
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "settle"]
    assert events(engine, transfer_id)[-1].type == "transfer.manually_resolved"
    with transaction(engine) as session:
        record = session.query(AuditRecord).one()
        assert (record.action, record.reason, record.details["from_state"]) == (
            "resolve", "provider back office shows it credited", "needs_review")


def test_resolve_refuses_a_final_transfer_with_exit_code_2(runtime, engine):
    # given
    transfer_id = settled(runtime)
    # when
    result = run("resolve", str(transfer_id), "--as", "failed", "--by", "maria",
                 "--reason", "oops", code=2)
    # then
    assert "already succeeded" in result.output
    assert count(engine, AuditRecord) == 0


def test_resolve_demands_a_reason_and_a_name(runtime):
    # given
    transfer_id = in_review(runtime)
    # when / then
    assert "--reason" in run("resolve", str(transfer_id), "--as", "failed", "--by", "m",
                             code=2).output
    assert "reason" in run("resolve", str(transfer_id), "--as", "failed", "--by", "m",
                           "--reason", "  ", code=2).output


def test_recheck_makes_it_due_and_takes_a_review_back(runtime, engine):
    # given
    transfer_id = in_review(runtime)
    # when
    output = run("recheck", "scripted-a:tx-review", "--by", "maria").output
    # then
    assert f"transfer {transfer_id} needs_review -> pending" in output
    transfer = load(engine, transfer_id)
    assert transfer.state == "pending"
    assert transfer.next_check_at <= datetime.now(UTC)
    # given a settled transfer
    settled_id = settled(runtime)
    # when / then it is refused
    assert "never checked again" in run("recheck", str(settled_id), code=2).output


def test_stats_counts_and_ages(runtime):
    # given
    in_review(runtime)
    register(runtime, tx_id="p-1")
    # when
    output = run("stats").output
    # then
    assert "scripted-a" in output and "needs_review" in output
    assert "oldest pending:" in output
    assert "resolved in the last hour: 0" in output
    # when asked for JSON
    figures = as_json("stats")
    # then
    assert {(c["state"], c["count"]) for c in figures["counts"]} == {
        ("needs_review", 1), ("pending", 1)}


def test_admin_refuses_to_start_without_tokens_or_with_a_bad_one(runtime):
    # when / then without tokens
    assert "no admin token" in run("admin", code=2).output
    # given a bad token entry
    settings = runtime.settings.model_copy(update={"admin_tokens": "bob:boss:s3cret-value-1234567"})
    use_runtime(dataclasses.replace(runtime, settings=settings))
    # when
    output = run("admin", code=2).output
    # then
    assert "RESOLVER_ADMIN_TOKENS entry 1: the role" in output
    assert "s3cret" not in output
