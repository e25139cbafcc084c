"""Intake: register, write-ahead begin/complete, idempotency, and refusals that write nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from models import AuditRecord, Contradiction, LedgerEntry, OutboxEvent, Transfer
from tests.integration.support import count, entries, events, load, register, request
from worker.cli import main
from worker.domain.refusal import InvalidInput
from worker.domain.types import State
from worker.engine.intake import service
from worker.engine.intake.registration import ConflictError, Contradicted
from worker.engine.resolve.resolution import NotResolvable, resolve, send_to_review
from worker.engine.sweep.due import expire_in_flight
from worker.process.db import transaction

pytestmark = pytest.mark.integration


def test_a_timed_out_deposit_is_pending_with_its_hold_posted(runtime, engine):
    # given
    before = datetime.now(UTC)
    # when
    result = service.register(runtime, request(amount="12.5", currency="usd"), by="test")

    # then
    transfer = load(engine, result["id"])
    assert result["created"] is True
    assert transfer.state == "pending"
    assert transfer.amount == Decimal("12.5000")
    assert transfer.currency == "USD"
    assert transfer.registered_by == "test"
    # The scripted test instance has no initial delay: due at once.
    assert before <= transfer.next_check_at <= datetime.now(UTC)
    assert entries(engine, transfer.id) == [
        ("hold", "player:player-7", "transit:scripted-a", Decimal("12.5000"))
    ]


def test_a_withdraw_moves_no_money_when_registered(runtime, engine):
    # when
    transfer_id = register(runtime, direction="withdraw")
    # then
    assert entries(engine, transfer_id) == []


def test_registering_twice_gives_one_transfer(runtime, engine):
    # given
    first = service.register(runtime, request(), by="test")
    # when
    second = service.register(runtime, request(amount="10.0000", currency="USD"), by="test")
    # then
    assert second["id"] == first["id"]
    assert second["created"] is False
    assert count(engine, Transfer) == 1
    assert count(engine, LedgerEntry) == 1


@pytest.mark.parametrize(("field", "value"), [
    ("amount", "11.00"),
    ("direction", "withdraw"),
    ("currency", "EUR"),
    ("player_id", "player-8"),
])
def test_the_same_tx_id_with_other_facts_is_refused(runtime, engine, field, value):
    # given
    register(runtime)
    # when / then
    with pytest.raises(ConflictError, match=f"{field} .* differs from registered"):
        service.register(runtime, request(**{field: value}), by="test")
    # then
    assert count(engine, Transfer) == 1
    assert count(engine, LedgerEntry) == 1


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"provider": "nope"}, "provider", "unknown provider instance 'nope'"),
    ({"amount": "0"}, "amount", "positive"),
    ({"amount": "-5"}, "amount", "positive"),
    ({"amount": "1.00001"}, "amount", "more than 4 decimal places"),
    ({"amount": "ten"}, "amount", "plain decimal string"),
    ({"amount": 10.5}, "amount", "not a number"),
    ({"currency": "DOLLARS!"}, "currency", "3 to 10 ASCII letters or digits"),
    ({"direction": "sideways"}, "direction", "deposit or withdraw"),
    ({"tx_id": ""}, "tx_id", "is required"),
    ({"player_id": None}, "player_id", "is required"),
    ({"tx_id": "x" * 129}, "tx_id", "at most 128"),
    ({"player_ref": "r" * 257}, "player_ref", "at most 256"),
    ({"tx_id": "a\nb"}, "tx_id", "control characters"),
    ({"sent_at": "yesterday"}, "sent_at", "not an ISO 8601 time"),
    ({"sent_at": "2026-01-01T00:00:00"}, "sent_at", "time zone"),
    ({"sent_at": "2999-01-01T00:00:00Z"}, "sent_at", "in the future"),
    ({"sent_at": "0001-01-01T00:00:00+14:00"}, "sent_at", "out of range"),
    ({"sent_at": "2001-01-01T00:00:00Z"}, "sent_at", "more than a year ago"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_bad_input_names_the_field_and_writes_nothing(runtime, engine, overrides, field, message):
    # when / then
    with pytest.raises(InvalidInput) as error:
        service.register(runtime, request(**overrides), by="test")
    # then
    assert error.value.field == field
    assert message in error.value.message
    assert count(engine, Transfer) == 0
    assert count(engine, LedgerEntry) == 0


def test_a_missing_amount_is_named(runtime):
    # given
    payload = request()
    del payload["amount"]
    # when / then
    with pytest.raises(InvalidInput, match="amount: is required"):
        service.register(runtime, payload, by="test")


def test_write_ahead_begin_then_complete_resolves_through_the_engine_path(runtime, engine):
    # when the wallet begins
    begun = service.begin(runtime, request(), by="wallet", deadline_s=30)
    # then
    assert begun["state"] == "in_flight"
    assert entries(engine, begun["id"])[0][0] == "hold"

    # when it begins again
    again = service.begin(runtime, request(), by="wallet", deadline_s=30)
    # then
    assert (again["id"], again["created"]) == (begun["id"], False)

    # when it completes
    done = service.complete(runtime, "scripted-a", "tx-1", "succeeded", by="wallet")
    # then
    transfer = load(engine, begun["id"])
    assert done["state"] == transfer.state == "succeeded"
    assert transfer.resolved_by == "caller:wallet"
    assert [kind for kind, *_ in entries(engine, transfer.id)] == ["hold", "settle"]
    assert [event.type for event in events(engine, transfer.id)] == ["transfer.resolved"]

    # when the same answer is reported again
    service.complete(runtime, "scripted-a", "tx-1", "succeeded", by="wallet")
    # then nothing changes
    assert count(engine, OutboxEvent) == 1


def test_a_caller_contradicting_a_final_state_is_recorded_not_applied(runtime, engine):
    # given a deposit the engine settled as failed (the player was refunded)
    transfer_id = register(runtime)
    with transaction(engine) as session:
        settled = session.get_one(Transfer, transfer_id, with_for_update=True)
        resolve(session, settled, State.FAILED, by="engine", reason="provider said failed",
                now=datetime.now(UTC))

    # when the wallet then reports that it succeeded
    with pytest.raises(Contradicted) as refused:
        service.complete(runtime, "scripted-a", "tx-1", "succeeded", by="wallet")

    # then the caller hears of the conflict, naming the outcome and the final state
    assert refused.value.field == "outcome"
    assert "already failed" in str(refused.value)
    # and the final state, the ledger and the resolution stand
    transfer = load(engine, transfer_id)
    assert (transfer.state, transfer.resolved_by) == ("failed", "engine")
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "refund"]
    # and the contradiction is on record: a row an admin filters on, an audit record, an event
    with transaction(engine) as session:
        [row] = session.execute(select(Contradiction)).scalars().all()
        [audit] = session.execute(select(AuditRecord)).scalars().all()
    assert (row.transfer_id, row.final_state, row.reported_state, row.reported_by) == \
        (transfer_id, "failed", "succeeded", "caller:wallet")
    assert (audit.action, audit.actor) == ("contradicted", "caller:wallet")
    types = [event.type for event in events(engine, transfer_id)]
    assert types == ["transfer.resolved", "transfer.contradicted"]
    data = events(engine, transfer_id)[-1].payload["data"]
    assert (data["outcome"], data["reported_outcome"]) == ("failed", "succeeded")

    # when / then the wallet repeats itself and is refused again
    with pytest.raises(Contradicted):
        service.complete(runtime, "scripted-a", "tx-1", "succeeded", by="wallet")
    # then it is recorded once
    assert count(engine, Contradiction) == 1 and count(engine, OutboxEvent) == 2


def test_a_caller_answer_for_a_transfer_in_review_is_left_to_the_admins(runtime, engine):
    # given a transfer in review
    transfer_id = register(runtime)
    with transaction(engine) as session:
        reviewed = session.get_one(Transfer, transfer_id, with_for_update=True)
        send_to_review(session, reviewed, reason="mismatch", by="engine", now=datetime.now(UTC))
    # when / then the wallet reports an answer and is refused
    with pytest.raises(NotResolvable, match="an admin decides"):
        service.complete(runtime, "scripted-a", "tx-1", "succeeded", by="wallet")
    # then nothing changes
    assert load(engine, transfer_id).state == "needs_review"
    assert count(engine, Contradiction) == 0


def test_a_failed_deposit_reported_by_the_caller_is_refunded(runtime, engine):
    # given
    begun = service.begin(runtime, request(), by="wallet")
    # when
    service.complete(runtime, "scripted-a", "tx-1", "failed", by="wallet")
    # then
    assert entries(engine, begun["id"]) == [
        ("hold", "player:player-7", "transit:scripted-a", Decimal("10.0000")),
        ("refund", "transit:scripted-a", "player:player-7", Decimal("10.0000")),
    ]


def test_registering_a_timeout_for_an_in_flight_transfer_makes_it_pending(runtime, engine):
    # given
    begun = service.begin(runtime, request(), by="wallet", deadline_s=300)
    # when
    registered = service.register(runtime, request(), by="wallet")
    # then
    assert registered["id"] == begun["id"]
    assert load(engine, begun["id"]).state == "pending"
    assert len(entries(engine, begun["id"])) == 1  # still one hold


def test_an_in_flight_transfer_past_its_deadline_becomes_pending_by_itself(runtime, engine):
    # given
    begun = service.begin(runtime, request(), by="wallet", deadline_s=1)
    # when / then nothing expires before the deadline
    assert expire_in_flight(engine, datetime.now(UTC), limit=100) == 0
    # when / then it expires once the deadline has passed
    later = datetime.now(UTC) + timedelta(seconds=2)
    assert expire_in_flight(engine, later, limit=100) == 1
    # then it is pending, due at once
    transfer = load(engine, begun["id"])
    assert transfer.state == "pending"
    assert transfer.next_check_at == later


def test_complete_refuses_unknown_transfers_and_outcomes(runtime):
    # when / then an unknown transfer is refused
    with pytest.raises(InvalidInput, match="no transfer 'nope'"):
        service.complete(runtime, "scripted-a", "nope", "succeeded", by="wallet")

    # given a begun transfer
    service.begin(runtime, request(), by="wallet")
    # when / then an unknown outcome is refused
    with pytest.raises(InvalidInput, match="succeeded or failed"):
        service.complete(runtime, "scripted-a", "tx-1", "pending", by="wallet")


def test_enqueue_on_the_command_line(runtime, engine):
    # given
    runner = CliRunner()
    args = ["enqueue", "--provider", "scripted-a", "--tx-id", "cli-1", "--direction", "deposit",
            "--player-id", "p1", "--amount", "10.00", "--currency", "USD"]
    # when
    plain = runner.invoke(main, args)
    # then
    assert plain.exit_code == 0, plain.output
    transfer_id = int(plain.output.strip())

    # when it is enqueued again, as JSON
    as_json = runner.invoke(main, [*args, "--json"])
    # then
    assert as_json.exit_code == 0
    document = json.loads(as_json.output)
    assert (document["id"], document["state"], document["created"]) == (transfer_id, "pending",
                                                                        False)

    # when a bad amount is given
    refused = runner.invoke(main, [*args[:-4], "--amount", "0", "--currency", "USD"])
    # then
    assert refused.exit_code == 2
    assert "amount: must be positive" in refused.output
    assert count(engine, Transfer) == 1
