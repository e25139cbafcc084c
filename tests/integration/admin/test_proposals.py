"""Four-eyes: a resolution at or above the instance's limit waits for a second operator.

The actions themselves, against the real Postgres: who may approve, what moves and when,
rejection, expiry with an injected clock, and per-transfer results of an approval.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from models import AuditRecord
from tests.integration.admin.support import checked, in_review
from tests.integration.support import entries, events, load, register
from tests.unit.events.schemas import problems
from worker.admin import actions, proposals
from worker.domain.refusal import InvalidInput
from worker.domain.types import Outcome
from worker.process.db import transaction
from worker.providers.scripted import SCRIPTS

pytestmark = pytest.mark.integration

BIG = "1500.00"  # the test instances' limit is 1000 USD
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def audit_actions(engine, transfer_id: int) -> list[tuple[str, str]]:
    with transaction(engine) as session:
        return [(row.actor, row.action) for row in session.execute(
            select(AuditRecord).where(AuditRecord.transfer_id == transfer_id)
            .order_by(AuditRecord.id)).scalars()]


def final_events(engine, transfer_id: int) -> list[dict]:
    return [e.payload for e in events(engine, transfer_id)
            if e.type == "transfer.manually_resolved"]


def test_a_big_resolution_becomes_a_proposal_and_nothing_moves(runtime, engine):
    # given a transfer under review above the limit
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)

    # when an operator resolves it
    result = proposals.request_resolution(engine, runtime.providers, transfer_id, "succeeded",
                                          actor="olga", reason="back office shows it")

    # then it is an open proposal; the transfer, ledger and events are as they were
    assert isinstance(result, proposals.ProposalView)
    assert (result.status, result.outcome, result.proposed_by) == ("open", "succeeded", "olga")
    assert [(i.transfer_id, i.state, i.amount) for i in result.items] == [
        (transfer_id, "open", Decimal("1500.0000"))]
    assert load(engine, transfer_id).state == "needs_review"
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold"]
    assert final_events(engine, transfer_id) == []
    assert audit_actions(engine, transfer_id) == [("olga", "propose")]


def test_a_small_resolution_applies_at_once(runtime, engine):
    # given a transfer in review below the limit
    transfer_id = in_review(runtime, tx_id="small", amount="999.99")
    # when
    result = proposals.request_resolution(engine, runtime.providers, transfer_id, "failed",
                                          actor="olga", reason="provider says no")
    # then it is resolved without a proposal
    assert isinstance(result, actions.Applied)
    assert load(engine, transfer_id).state == "failed"


def test_the_proposer_cannot_approve_and_another_operator_can(runtime, engine):
    # given a big transfer with an open proposal
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)
    proposal = proposals.propose(engine, [transfer_id], "succeeded", actor="olga",
                                 reason="back office shows it")

    # when / then the proposer is refused, and nothing changes
    for same in ("olga", " Olga "):
        with pytest.raises(actions.ActionRefused, match="another operator must approve"):
            proposals.approve(engine, proposal.id, actor=same)
    assert proposals.get(engine, proposal.id).status == "open"
    assert final_events(engine, transfer_id) == []

    # when a second operator approves
    approved = proposals.approve(engine, proposal.id, actor="bob")
    # then the ledger and the event happen now
    assert (approved.status, approved.decided_by) == ("approved", "bob")
    assert [i.state for i in approved.items] == ["applied"]
    assert load(engine, transfer_id).state == "succeeded"
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "settle"]
    [event] = final_events(engine, transfer_id)
    assert (event["data"]["resolved_by"], event["data"]["proposal_id"],
            event["data"]["proposed_by"]) == ("admin:bob", proposal.id, "admin:olga")
    assert problems(event) == []
    assert audit_actions(engine, transfer_id) == [("olga", "propose"), ("bob", "resolve")]

    # when / then it is decided for good
    with pytest.raises(actions.ActionRefused, match="already approved"):
        proposals.approve(engine, proposal.id, actor="carol")


def test_the_database_refuses_an_approval_by_the_proposer(runtime, engine):
    # given a proposal
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)
    proposal = proposals.propose(engine, [transfer_id], "failed", actor="olga", reason="x")
    # when / then the database refuses its approval by the proposer, whatever the case
    with pytest.raises(IntegrityError, match="ck_proposals_four_eyes"), \
            transaction(engine) as session:
        session.execute(text("UPDATE proposals SET status = 'approved', decided_by = 'OLGA', "
                             "decided_at = now() WHERE id = :id"), {"id": proposal.id})


def test_a_rejected_proposal_moves_nothing_and_frees_the_transfer(runtime, engine):
    # given a proposal
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)
    proposal = proposals.propose(engine, [transfer_id], "succeeded", actor="olga", reason="x")

    # when another operator rejects it
    rejected = proposals.reject(engine, proposal.id, actor="bob",
                                reason="provider support says it never arrived")

    # then nothing moves, and it cannot be approved after all
    assert (rejected.status, rejected.decided_by, [i.state for i in rejected.items]) == (
        "rejected", "bob", ["rejected"])
    assert load(engine, transfer_id).state == "needs_review"
    assert audit_actions(engine, transfer_id) == [("olga", "propose"), ("bob", "reject")]
    with pytest.raises(actions.ActionRefused, match="already rejected"):
        proposals.approve(engine, proposal.id, actor="carol")
    # when / then a decided proposal never changes, even past our code
    with pytest.raises(DBAPIError, match="never changes again"), transaction(engine) as session:
        session.execute(text("UPDATE proposals SET status = 'open', decided_at = NULL "
                             "WHERE id = :id"), {"id": proposal.id})
    # when / then the transfer is free for a new proposal
    again = proposals.propose(engine, [transfer_id], "failed", actor="bob", reason="y")
    assert again.status == "open"


def test_a_transfer_has_at_most_one_open_proposal(runtime, engine):
    # given an open proposal
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)
    first = proposals.propose(engine, [transfer_id], "succeeded", actor="olga", reason="x")
    # when / then a second one is refused
    with pytest.raises(actions.ActionRefused, match=f"open proposal \\({first.id}\\)"):
        proposals.propose(engine, [transfer_id], "failed", actor="bob", reason="y")
    # when / then the database refuses it too, past our code
    with pytest.raises(IntegrityError, match="uq_proposal_items_one_open"), \
            transaction(engine) as session:
        session.execute(text("INSERT INTO proposal_items (proposal_id, transfer_id, amount, "
                             "currency) VALUES (:p, :t, 1, 'USD')"),
                        {"p": first.id, "t": transfer_id})


def test_an_expired_proposal_cannot_be_approved_and_shows_as_expired(runtime, engine):
    # given a proposal that lives 24 hours
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)
    proposal = proposals.propose(engine, [transfer_id], "succeeded", actor="olga", reason="x",
                                 ttl=timedelta(hours=24), now=T0)
    # then
    assert proposal.expires_at == T0 + timedelta(hours=24)

    # when / then it cannot be approved a second later
    later = T0 + timedelta(hours=24, seconds=1)
    with pytest.raises(actions.ActionRefused, match="expired"):
        proposals.approve(engine, proposal.id, actor="bob", now=later)

    # when it is shown
    shown = proposals.get(engine, proposal.id, now=later)
    # then it shows as expired, and nothing moved
    assert (shown.status, shown.decided_at, [i.state for i in shown.items]) == (
        "expired", T0 + timedelta(hours=24), ["expired"])
    assert load(engine, transfer_id).state == "needs_review"
    assert final_events(engine, transfer_id) == []
    assert audit_actions(engine, transfer_id) == [("olga", "propose"),
                                                  ("resolver", "proposal_expired")]


def test_a_proposal_approved_just_in_time_is_applied(runtime, engine):
    # given a proposal that lives an hour
    transfer_id = in_review(runtime, tx_id="big", amount=BIG)
    proposal = proposals.propose(engine, [transfer_id], "failed", actor="olga", reason="x",
                                 ttl=timedelta(hours=1), now=T0)
    # when it is approved a minute before it ends
    approved = proposals.approve(engine, proposal.id, actor="bob",
                                 now=T0 + timedelta(minutes=59))
    # then
    assert [i.state for i in approved.items] == ["applied"]


def test_an_approval_reports_each_transfer_and_a_final_one_does_not_stop_the_others(runtime,
                                                                                    engine):
    # given a bulk proposal over two transfers, one of which the engine settles meanwhile
    waits = in_review(runtime, tx_id="waits")
    settles = register(runtime, tx_id="will-settle")
    proposal = proposals.propose(engine, [settles, waits], "failed", actor="olga",
                                 reason="provider outage: none arrived", bulk=True)
    assert proposal.bulk
    checked(runtime, settles, "will-settle", [Outcome.SUCCEEDED])
    assert load(engine, settles).state == "succeeded"

    # when a second operator approves
    approved = proposals.approve(engine, proposal.id, actor="bob")

    # then each transfer is reported: the final one refused with why, the other applied
    by_id = {i.transfer_id: i for i in approved.items}
    assert by_id[settles].state == "refused"
    assert "already succeeded" in (by_id[settles].note or "")
    assert by_id[waits].state == "applied"
    assert load(engine, waits).state == "failed"
    assert load(engine, settles).state == "succeeded"  # untouched
    assert final_events(engine, settles) == []
    assert audit_actions(engine, settles)[-1] == ("bob", "approve")


def test_a_proposal_is_all_or_nothing_when_made(runtime, engine):
    # given a transfer in review and one already settled
    fine = in_review(runtime, tx_id="fine")
    done = register(runtime, tx_id="done")
    checked(runtime, done, "done", [Outcome.SUCCEEDED])
    # when / then a proposal over both is refused, and nothing is written
    with pytest.raises(actions.ActionRefused, match=f"transfer {done} is already succeeded"):
        proposals.propose(engine, [fine, done], "failed", actor="olga", reason="x", bulk=True)
    assert proposals.list_proposals(engine) == []
    assert audit_actions(engine, fine) == []
    # when / then a proposal over no transfer is refused
    with pytest.raises(InvalidInput, match="transfer_ids"):
        proposals.propose(engine, [], "failed", actor="olga", reason="x")


def test_a_mismatch_at_the_provider_amount_is_proposed_and_applied_at_that_amount(runtime, engine):
    # given a mismatch whose provider amount (1200) is above the limit though ours (900) is not
    SCRIPTS.record("scripted-a", "mm", Decimal("1200.00"), "USD")
    transfer_id = register(runtime, tx_id="mm", amount="900.00")
    checked(runtime, transfer_id, "mm", [Outcome.MISMATCH])

    # when it is requested at the provider's amount
    result = proposals.request_resolution(engine, runtime.providers, transfer_id, "succeeded",
                                          actor="olga", reason="provider statement",
                                          at_provider_amount=True)

    # then it becomes a proposal at that amount
    assert isinstance(result, proposals.ProposalView)
    assert (result.at_provider_amount, result.items[0].provider_amount) == (
        True, Decimal("1200.0000"))
    # when another operator approves it
    approved = proposals.approve(engine, result.id, actor="bob")
    # then it is applied at the provider's amount, the difference from suspense
    assert [i.state for i in approved.items] == ["applied"]
    assert entries(engine, transfer_id)[1:] == [
        ("adjust", "suspense:scripted-a", "transit:scripted-a", Decimal("300.0000")),
        ("settle", "transit:scripted-a", "settled:scripted-a", Decimal("1200.0000"))]
    [event] = final_events(engine, transfer_id)
    assert (event["data"]["amount"], event["data"]["provider_amount"]) == ("900.0000",
                                                                           "1200.0000")


def test_list_filters_by_status_and_transfer(runtime, engine):
    # given two proposals, one rejected
    first = in_review(runtime, tx_id="a", amount=BIG)
    second = in_review(runtime, tx_id="b", amount=BIG)
    one = proposals.propose(engine, [first], "failed", actor="olga", reason="x")
    two = proposals.propose(engine, [second], "failed", actor="olga", reason="x")
    proposals.reject(engine, one.id, actor="olga", reason="withdrawn: wrong transfer")
    # when / then the lists and the look-ups find them by status and transfer
    assert [p.id for p in proposals.list_proposals(engine, status="open")] == [two.id]
    assert [p.id for p in proposals.list_proposals(engine)] == [two.id, one.id]
    assert [p.id for p in proposals.list_proposals(engine, transfer_id=first)] == [one.id]
    assert proposals.open_proposal_of(engine, second) is not None
    assert proposals.open_proposal_of(engine, first) is None


def test_one_operator_alone_cannot_overtake_a_waiting_proposal(runtime, engine):
    # given a small transfer in a bulk proposal (bulk is always four-eyes)
    transfer_id = in_review(runtime, tx_id="small")
    proposal = proposals.propose(engine, [transfer_id], "failed", actor="olga", reason="x",
                                 bulk=True)
    # when / then a direct resolution, below the limit, is refused while the proposal waits
    with pytest.raises(actions.ActionRefused, match=f"open proposal \\({proposal.id}\\)"):
        proposals.request_resolution(engine, runtime.providers, transfer_id, "succeeded",
                                     actor="bob", reason="y")
    assert load(engine, transfer_id).state == "needs_review"
