"""The drill's invariants, judged on rows made by hand: each violation is reported, and rows
that keep the invariant report nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from resolver_tools.chaos import verify
from resolver_tools.chaos.intake import Acknowledged
from resolver_tools.chaos.scenario import Planned
from resolver_tools.demo.scenario import DemoTransfer, instances
from worker.domain.types import State

NAGA = next(i for i in instances() if i.name == "naga-main")
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def planned(tx_id: str, expected: State = State.SUCCEEDED) -> Planned:
    transfer = DemoTransfer(NAGA, tx_id, "deposit", Decimal("10.00"), "p-1", None, "",
                            [{"answer": "succeeded"}])
    return Planned(transfer, expected)


def ack(transfer_id: int) -> Acknowledged:
    return Acknowledged(transfer_id, "pending", True, 1)


def details(found: list[verify.Violation]) -> list[str]:
    return [f"{v.subject}: {v.detail}" for v in found]


# --- registrations

def test_registrations_hold_when_every_acknowledged_row_is_stored_under_its_id():
    # given
    rows = [(1, "naga-main", "a"), (2, "naga-main", "b")]
    acked = {("naga-main", "a"): ack(1), ("naga-main", "b"): ack(2)}

    # when / then
    assert verify.judge_registrations(rows, [planned("a"), planned("b")], acked, {}) == []


def test_an_acknowledged_registration_missing_from_postgres_is_reported_with_the_counts():
    # given
    rows = [(1, "naga-main", "a")]
    acked = {("naga-main", "a"): ack(1), ("naga-main", "b"): ack(2)}

    # when
    found = verify.judge_registrations(rows, [planned("a"), planned("b")], acked, {})

    # then
    assert details(found) == ["naga-main:b: acknowledged as id 2 but not in Postgres",
                              "drill: count in 2 != count out 1"]


def test_an_id_that_differs_a_refusal_a_missing_ack_and_a_stranger_are_each_reported():
    # given
    rows = [(7, "naga-main", "a"), (8, "naga-main", "x")]
    acked = {("naga-main", "a"): ack(1)}
    refused = {("naga-main", "c"): {"ok": False, "error": "conflict"}}

    # when
    found = verify.judge_registrations(rows, [planned("a"), planned("b"), planned("c")],
                                       acked, refused)

    # then
    assert details(found) == [
        "naga-main:b: never acknowledged",
        "naga-main:c: refused: {'ok': False, 'error': 'conflict'}",
        "naga-main:a: acknowledged as id 1, stored as id 7",
        "naga-main:x: in Postgres but never sent",
        "drill: count in 1 != count out 2",
    ]


# --- final states

def test_a_state_other_than_the_scripted_one_is_reported():
    # given
    rows = [("naga-main", "a", "succeeded", "engine", "SUCCEEDED"),
            ("naga-main", "b", "needs_review", None, "MISMATCH"),
            ("naga-main", "c", "failed", "engine", "NOT_FOUND")]
    plan = [planned("a"), planned("b", State.FAILED), planned("c", State.FAILED)]

    # when
    found = verify.judge_final_states(rows, plan)

    # then
    assert details(found) == ["naga-main:b: needs_review, script makes failed true "
                              "(last answer MISMATCH)"]


def test_a_resolution_against_the_last_answer_or_by_someone_else_is_reported():
    # given
    rows = [("naga-main", "a", "succeeded", "engine", "PENDING"),
            ("naga-main", "b", "failed", "admin:eve", "FAILED")]

    # when
    found = verify.judge_final_states(rows, [planned("a"), planned("b", State.FAILED)])

    # then
    assert details(found) == ["naga-main:a: succeeded but the last applied answer was PENDING",
                              "naga-main:b: resolved by admin:eve"]


# --- ledger

def posting_row(tx_id: str, direction: str, state: str, kind: str | None,
                source: str | None = None, target: str | None = None,
                amount: str = "10.0000") -> tuple[object, ...]:
    return ("naga-main", tx_id, direction, state, Decimal("10.0000"), "EUR", "p-1",
            kind, Decimal(amount) if kind else None, "EUR" if kind else None, source, target)


def test_the_postings_each_outcome_calls_for_hold():
    # given
    rows = [
        posting_row("d-ok", "deposit", "succeeded", "hold", "player:p-1", "transit:naga-main"),
        posting_row("d-ok", "deposit", "succeeded", "settle", "transit:naga-main",
                    "settled:naga-main"),
        posting_row("d-no", "deposit", "failed", "hold", "player:p-1", "transit:naga-main"),
        posting_row("d-no", "deposit", "failed", "refund", "transit:naga-main", "player:p-1"),
        posting_row("d-review", "deposit", "needs_review", "hold", "player:p-1",
                    "transit:naga-main"),
        posting_row("w-ok", "withdraw", "succeeded", "payout", "settled:naga-main",
                    "player:p-1"),
        posting_row("w-no", "withdraw", "failed", None),
    ]

    # when / then
    assert verify.judge_ledger(rows, [("EUR", Decimal(0))]) == []


def test_missing_extra_misdirected_and_wrongly_sized_postings_are_reported():
    # given
    rows = [
        posting_row("d-ok", "deposit", "succeeded", "hold", "player:p-1", "transit:naga-main"),
        posting_row("w-no", "withdraw", "failed", "payout", "settled:naga-main", "player:p-1"),
        posting_row("d-no", "deposit", "failed", "hold", "player:p-1", "transit:naga-main"),
        posting_row("d-no", "deposit", "failed", "refund", "transit:naga-main",
                    "settled:naga-main"),
        posting_row("w-ok", "withdraw", "succeeded", "payout", "settled:naga-main",
                    "player:p-1", amount="9.0000"),
    ]

    # when
    found = verify.judge_ledger(rows, [("EUR", Decimal("1.0000")), ("USD", Decimal(0))])

    # then
    assert details(found) == [
        "EUR: balances sum to 1.0000, not 0",
        "naga-main:w-ok: payout of 9.0000 EUR for a transfer of 10.0000 EUR",
        "naga-main:d-no: deposit failed: postings [hold player:p-1->transit:naga-main, "
        "refund transit:naga-main->settled:naga-main], rules call for [hold "
        "player:p-1->transit:naga-main, refund transit:naga-main->player:p-1]",
        "naga-main:d-ok: deposit succeeded: postings [hold player:p-1->transit:naga-main], "
        "rules call for [hold player:p-1->transit:naga-main, settle "
        "transit:naga-main->settled:naga-main]",
        "naga-main:w-no: withdraw failed: postings [payout settled:naga-main->player:p-1], "
        "rules call for []",
    ]


# --- outbox

def test_one_published_resolution_event_per_final_transfer_holds():
    # given
    rows = [("naga-main", "a", "succeeded", "transfer.resolved", True),
            ("naga-main", "b", "needs_review", "transfer.needs_review", True),
            ("naga-main", "c", "failed", "transfer.needs_review", True),
            ("naga-main", "c", "failed", "transfer.manually_resolved", True)]

    # when / then
    assert verify.judge_outbox(rows) == []


def test_missing_doubled_and_unpublished_events_are_reported():
    # given
    rows = [("naga-main", "a", "succeeded", None, None),
            ("naga-main", "b", "failed", "transfer.resolved", True),
            ("naga-main", "b", "failed", "transfer.resolved", True),
            ("naga-main", "c", "succeeded", "transfer.resolved", False),
            ("naga-main", "d", "needs_review", None, None)]

    # when
    found = verify.judge_outbox(rows)

    # then
    assert details(found) == [
        "naga-main:c: transfer.resolved never published",
        "naga-main:a: succeeded with 0 resolution events, not 1",
        "naga-main:b: failed with 2 resolution events, not 1",
        "naga-main:d: needs_review without its event",
    ]


# --- overlapping checks

def span(tx_id: str, check_id: int, start_s: float, end_s: float) -> tuple[object, ...]:
    return ("naga-main", tx_id, check_id, T0 + timedelta(seconds=start_s),
            T0 + timedelta(seconds=end_s))


def test_checks_one_after_another_do_not_overlap():
    # given
    spans = [span("a", 1, 0, 1), span("a", 2, 1, 2), span("a", 3, 5, 6), span("b", 4, 0.5, 3)]

    # when / then
    assert verify.judge_overlaps(spans) == []


def test_a_check_that_began_before_an_earlier_one_ended_is_reported():
    # given check 2 overlapping the long check 1 although check 3, between them by start, does not
    spans = [span("a", 1, 0, 10), span("a", 3, 1, 2), span("a", 2, 9.5, 11)]

    # when
    found = verify.judge_overlaps(spans)

    # then
    assert details(found) == ["naga-main:a: check 3 began 9.000 s before check 1 ended",
                              "naga-main:a: check 2 began 0.500 s before check 1 ended"]


# --- settled

def test_open_transfers_or_unpublished_events_mean_the_drill_did_not_settle():
    # when / then
    assert verify.judge_settled(0, 0) == []
    assert details(verify.judge_settled(3, 1)) == [
        "drill: did not settle: 3 transfers open, 1 events unpublished"]
