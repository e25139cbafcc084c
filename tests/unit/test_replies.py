"""An intake task's reply: accepted with the summary, or the refusal as data, never raised."""

from __future__ import annotations

import json

import pytest

from worker.domain.refusal import InvalidInput
from worker.engine.intake.registration import ConflictError, Contradicted
from worker.engine.intake.replies import answer
from worker.engine.resolve.resolution import NotResolvable

SUMMARY = {"id": 7, "provider": "naga-main", "tx_id": "W-1", "state": "pending",
           "created": True, "amount": "25.0000", "currency": "EUR", "direction": "deposit",
           "next_check_at": "2026-11-23T10:16:02+00:00"}


def failing(exc: Exception):
    def handler(*_args, **_kwargs):
        raise exc
    return handler


def test_an_accepted_request_answers_ok_with_its_summary():
    # given
    seen = []

    def handler(*args, **kwargs):
        seen.append((args, kwargs))
        return SUMMARY

    # when
    reply = answer(handler, "rt", {"tx_id": "W-1"}, by="wallet")

    # then
    assert reply == {"ok": True, **SUMMARY}
    assert seen == [(("rt", {"tx_id": "W-1"}), {"by": "wallet"})]


def test_invalid_input_answers_with_its_field_and_message():
    # when
    reply = answer(failing(InvalidInput("amount", "must be positive")))

    # then
    assert reply == {"ok": False, "error": "invalid", "field": "amount",
                     "message": "must be positive"}


def test_conflicting_facts_answer_as_a_conflict_without_a_field():
    # when
    reply = answer(failing(ConflictError("tx_id 'W-1' is already registered with other facts")))

    # then
    assert reply == {"ok": False, "error": "conflict", "field": None,
                     "message": "tx_id 'W-1' is already registered with other facts"}


def test_a_conflict_that_names_its_field_passes_it_on():
    # given
    exc = ConflictError("amount 30 differs from registered 25", field="amount")

    # when / then
    assert answer(failing(exc))["field"] == "amount"


def test_an_outcome_that_contradicts_a_final_state_answers_as_a_conflict_on_outcome():
    # when
    reply = answer(failing(Contradicted("transfer 7 is already failed; the reported succeeded "
                                        "contradicts it")))

    # then
    assert reply == {"ok": False, "error": "conflict", "field": "outcome",
                     "message": "transfer 7 is already failed; the reported succeeded "
                                "contradicts it"}


def test_completing_a_transfer_in_review_answers_as_a_conflict():
    # when
    reply = answer(failing(NotResolvable("transfer 7 is needs_review; an admin decides it")))

    # then
    assert reply == {"ok": False, "error": "conflict", "field": None,
                     "message": "transfer 7 is needs_review; an admin decides it"}


def test_every_reply_survives_the_json_result_backend():
    # when / then
    for reply in (answer(lambda: SUMMARY), answer(failing(InvalidInput("currency", "unknown")))):
        assert json.loads(json.dumps(reply)) == reply


def test_anything_but_a_refusal_still_raises_so_the_task_retries():
    # given
    outage = ConnectionError("database unreachable")

    # when / then
    with pytest.raises(ConnectionError):
        answer(failing(outage))
