"""The admin API against the real Postgres: intake, lists, a transfer's history, the actions,
the ledger, the event replay, the figures and the health check."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, update

from models import AuditRecord, Transfer
from tests.conftest import unreachable_redis
from tests.integration.admin.support import (
    OPERATOR_TOKEN,
    VIEWER_TOKEN,
    bearer,
    in_review,
    settled,
)
from tests.integration.support import count, entries, events, load, register, request
from worker.admin import actions
from worker.admin.app import create_app
from worker.domain.types import Outcome
from worker.engine.intake import service
from worker.engine.intake.registration import Contradicted
from worker.process import heartbeat
from worker.process.db import transaction

pytestmark = pytest.mark.integration
OPERATOR = bearer(OPERATOR_TOKEN)
VIEWER = bearer(VIEWER_TOKEN)


def backdate(engine, transfer_id: int, age: timedelta) -> None:
    with transaction(engine) as session:
        session.execute(update(Transfer).where(Transfer.id == transfer_id)
                        .values(created_at=datetime.now(UTC) - age))


# Registering

def test_registering_answers_201_then_200_then_409(client):
    # when a transfer is registered for the first time
    first = client.post("/api/v1/transfers", json=request(amount="12.5"), headers=OPERATOR)
    # then
    assert first.status_code == 201
    assert first.json()["created"] is True
    assert first.json()["amount"] == "12.5000"
    assert first.json()["state"] == "pending"

    # when the same facts come again
    again = client.post("/api/v1/transfers", json=request(amount="12.5"), headers=OPERATOR)
    # then
    assert (again.status_code, again.json()["id"], again.json()["created"]) == (
        200, first.json()["id"], False)

    # when the same tx_id comes with another amount
    conflict = client.post("/api/v1/transfers", json=request(amount="13"), headers=OPERATOR)
    # then
    assert conflict.status_code == 409
    assert "other facts" in conflict.json()["detail"]
    assert conflict.json()["field"] == "amount"  # the first fact that differs


INVALID_REGISTRATIONS = [
    (request(provider="nobody"), "provider"),
    (request(amount="1.23456"), "amount"),
    (request(amount="-5"), "amount"),
    (request(currency="dollars!"), "currency"),
    (request(direction="sideways"), "direction"),
    (request(sent_at="yesterday"), "sent_at"),
    (request(sent_at="0001-01-01T00:00:00+14:00"), "sent_at"),
    ({k: v for k, v in request().items() if k != "tx_id"}, "tx_id"),
    (request(colour="red"), "colour"),
    (request(amount=12.5), "amount"),  # a JSON number is never money
]


def test_an_invalid_registration_is_422_naming_the_field(client, engine):
    # when / then each invalid body is refused
    for body, field in INVALID_REGISTRATIONS:
        answer = client.post("/api/v1/transfers", json=body, headers=OPERATOR)
        assert (answer.status_code, answer.json().get("field")) == (422, field), body
    # then nothing was registered
    assert count(engine, Transfer) == 0


def test_a_body_that_is_not_json_is_422(client):
    # when
    answer = client.post("/api/v1/transfers", content=b"{not json", headers={
        **OPERATOR, "Content-Type": "application/json"})
    # then
    assert (answer.status_code, answer.json()["field"]) == (422, "body")


def test_the_registrant_is_the_token_holder(client, engine):
    # when
    answer = client.post("/api/v1/transfers", json=request(), headers=OPERATOR)
    # then
    assert load(engine, answer.json()["id"]).registered_by == "api:olga"


# Listing

def test_the_list_filters_by_state_provider_age_and_tx_id(runtime, client, engine):
    # given
    review = in_review(runtime, tx_id="r-1")
    old = register(runtime, tx_id="p-old")
    new = register(runtime, tx_id="p-new")
    backdate(engine, old, timedelta(hours=2))

    def ids(**params):
        answer = client.get("/api/v1/transfers", params=params, headers=VIEWER)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    # when / then listing with each filter
    assert ids() == [old, review, new]  # oldest registered first
    assert ids(state="needs_review") == [review]
    assert ids(state="pending") == [old, new]
    assert ids(state="open", older_than="1h") == [old]
    assert ids(tx_id="p-new") == [new]
    assert ids(provider="scripted-a", state="pending") == [old, new]
    assert ids(provider="elsewhere") == []


def test_keyset_pages_walk_every_transfer_once_in_order(runtime, client):
    # given
    registered = [register(runtime, tx_id=f"t-{n}") for n in range(5)]
    # when walking the pages
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/transfers", params=params, headers=VIEWER).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # then
    assert seen == registered
    assert pages == 3


INVALID_LIST_PARAMETERS = [
    ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"),
    ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
    ({"older_than": "soon"}, "older_than"),
    ({"older_than": "99999999999d"}, "older_than"),
    ({"state": "lost"}, "state"),
]


def test_invalid_list_parameters_are_422(client):
    # when / then
    for params, field in INVALID_LIST_PARAMETERS:
        answer = client.get("/api/v1/transfers", params=params, headers=VIEWER)
        assert (answer.status_code, answer.json().get("field")) == (422, field), params


# One transfer's history

def test_a_transfer_comes_with_checks_ledger_events_and_audit(runtime, client):
    # given a transfer resolved by hand
    transfer_id = in_review(runtime)
    client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=OPERATOR,
                json={"outcome": "failed", "reason": "provider support: never arrived"})

    # when
    history = client.get(f"/api/v1/transfers/{transfer_id}", headers=VIEWER).json()
    # then
    assert history["state"] == "failed"
    assert [(c["outcome"], c["http_status"]) for c in history["checks"]] == [("MISMATCH", 200)]
    assert history["checks"][0]["latency_ms"] >= 0
    assert [(e["kind"], e["from_account"], e["to_account"], e["amount"])
            for e in history["ledger_entries"]] == [
        ("hold", "player:player-7", "transit:scripted-a", "10.0000"),
        ("refund", "transit:scripted-a", "player:player-7", "10.0000"),
    ]
    assert [e["type"] for e in history["events"]] == ["transfer.needs_review",
                                                    "transfer.manually_resolved"]
    [audit] = history["audit"]
    assert (audit["actor"], audit["action"], audit["reason"]) == (
        "olga", "resolve", "provider support: never arrived")
    assert history["created_at"].endswith("Z")


def test_an_unknown_transfer_is_404(client):
    # when / then
    assert client.get("/api/v1/transfers/999", headers=VIEWER).status_code == 404
    assert client.get("/api/v1/transfers/0", headers=VIEWER).status_code == 422


# Resolving by hand

def test_resolving_goes_through_the_engines_path_and_is_audited(runtime, client, engine):
    # given
    transfer_id = in_review(runtime)
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=OPERATOR,
                         json={"outcome": "succeeded", "reason": "  seen in provider back office "})
    # then
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["transfer"]["state"] == "succeeded"
    assert body["transfer"]["resolved_by"] == "admin:olga"
    assert body["audit"]["details"]["from_state"] == "needs_review"
    assert body["audit"]["details"]["to_state"] == "succeeded"
    assert body["audit"]["reason"] == "seen in provider back office"

    transfer = load(engine, transfer_id)
    assert (transfer.state, transfer.resolved_by) == ("succeeded", "admin:olga")
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["hold", "settle"]
    event = events(engine, transfer_id)[-1]
    assert event.type == "transfer.manually_resolved"
    assert event.payload["data"]["reason"] == "seen in provider back office"
    assert event.payload["data"]["resolved_by"] == "admin:olga"


def test_a_pending_transfer_can_be_resolved_too(runtime, client, engine):
    # given
    transfer_id = register(runtime, direction="withdraw")
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=OPERATOR,
                         json={"outcome": "succeeded", "reason": "player confirmed"})
    # then
    assert answer.status_code == 200
    assert [kind for kind, *_ in entries(engine, transfer_id)] == ["payout"]


def test_a_final_transfer_is_refused_with_409_and_nothing_written(runtime, client, engine):
    # given
    transfer_id = settled(runtime)
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=OPERATOR,
                         json={"outcome": "failed", "reason": "second thoughts"})
    # then
    assert answer.status_code == 409
    assert "already succeeded" in answer.json()["detail"]
    assert load(engine, transfer_id).state == "succeeded"
    assert count(engine, AuditRecord) == 0


def test_an_in_flight_transfer_is_left_to_its_caller(runtime, client, engine):
    # given a transfer in flight
    transfer_id = service.begin(runtime, request(), by="wallet")["id"]
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=OPERATOR,
                         json={"outcome": "failed", "reason": "impatient"})
    # then
    assert answer.status_code == 409
    assert "in flight" in answer.json()["detail"]
    assert load(engine, transfer_id).state == "in_flight"


INVALID_RESOLUTIONS = [
    ({"outcome": "failed", "reason": ""}, "reason"),
    ({"outcome": "failed", "reason": "   "}, "reason"),
    ({"outcome": "failed", "reason": "x" * 1001}, "reason"),
    ({"outcome": "failed", "reason": "bell \x07"}, "reason"),
    ({"outcome": "lost", "reason": "why not"}, "outcome"),
    ({"outcome": "failed"}, "reason"),
]


def test_resolve_needs_an_outcome_and_a_real_reason(runtime, client, engine):
    # given
    transfer_id = in_review(runtime)
    # when / then each invalid body is refused
    for body, field in INVALID_RESOLUTIONS:
        answer = client.post(f"/api/v1/transfers/{transfer_id}/resolve", headers=OPERATOR,
                             json=body)
        assert (answer.status_code, answer.json().get("field")) == (422, field), body
    # then nothing changed
    assert load(engine, transfer_id).state == "needs_review"
    assert count(engine, AuditRecord) == 0


def test_resolving_an_unknown_transfer_is_404(client):
    # when
    answer = client.post("/api/v1/transfers/4242/resolve", headers=OPERATOR,
                         json={"outcome": "failed", "reason": "gone"})
    # then
    assert answer.status_code == 404


def test_two_admins_resolving_at_once_settle_it_once(runtime, engine):
    # given
    transfer_id = in_review(runtime)
    results: list[str] = []
    start = threading.Barrier(2)

    def attempt(outcome: str) -> None:
        start.wait()
        try:
            actions.resolve_by_hand(engine, transfer_id, outcome, actor=outcome, reason="race")
            results.append("done")
        except actions.ActionRefused:
            results.append("refused")

    # when both resolve at once
    threads = [threading.Thread(target=attempt, args=(o,)) for o in ("succeeded", "failed")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert sorted(results) == ["done", "refused"]
    assert len(entries(engine, transfer_id)) == 2  # the hold and one resolution
    assert count(engine, AuditRecord) == 1


# Rechecking

def test_recheck_makes_a_pending_transfer_due_now(runtime, client, engine):
    # given a pending transfer not due for an hour
    transfer_id = register(runtime)
    later = datetime.now(UTC) + timedelta(hours=1)
    with transaction(engine) as session:
        session.get_one(Transfer, transfer_id).next_check_at = later
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/recheck", headers=OPERATOR)
    # then
    assert answer.status_code == 200, answer.text
    transfer = load(engine, transfer_id)
    assert transfer.next_check_at <= datetime.now(UTC)
    audit = answer.json()["audit"]
    assert (audit["action"], audit["actor"]) == ("recheck", "olga")
    assert audit["details"]["previous_next_check_at"] == later.isoformat()


def test_recheck_sends_a_reviewed_transfer_back_for_one_more_look(runtime, client, engine):
    # given
    transfer_id = in_review(runtime)
    reason = load(engine, transfer_id).review_reason
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/recheck", headers=OPERATOR,
                         json={"reason": "provider fixed their record"})
    # then
    assert answer.status_code == 200
    transfer = load(engine, transfer_id)
    assert (transfer.state, transfer.review_reason, transfer.lease_token) == (
        "pending", None, None)
    audit = answer.json()["audit"]
    assert audit["details"] == {"from_state": "needs_review", "to_state": "pending",
                                "review_reason": reason}
    assert audit["reason"] == "provider fixed their record"


def test_recheck_refuses_a_final_transfer(runtime, client):
    # given
    transfer_id = settled(runtime, outcome=Outcome.FAILED)
    # when
    answer = client.post(f"/api/v1/transfers/{transfer_id}/recheck", headers=OPERATOR)
    # then
    assert answer.status_code == 409


# Ledger, events, figures, health

def test_balances_are_strings_and_each_currency_sums_to_zero(runtime, client):
    # given
    in_review(runtime)
    register(runtime, tx_id="eur", currency="EUR", amount="3.3")
    # when
    body = client.get("/api/v1/ledger/accounts", headers=VIEWER).json()
    # then
    balances = {(a["code"], a["currency"]): a["balance"] for a in body["accounts"]}
    assert balances[("player:player-7", "USD")] == "-10.0000"
    assert balances[("transit:scripted-a", "EUR")] == "3.3000"
    assert body["totals"] == [{"currency": "EUR", "total": "0.0000"},
                              {"currency": "USD", "total": "0.0000"}]


def test_events_replay_in_order_after_a_sequence_number(runtime, client):
    # given
    for n in range(3):
        in_review(runtime, tx_id=f"e-{n}")
    # when reading the first page
    first = client.get("/api/v1/events", params={"limit": 2}, headers=VIEWER).json()
    # then
    assert [item["seq"] for item in first["items"]] == [1, 2]
    # when reading after it
    rest = client.get("/api/v1/events", params={"after": first["next_after"]},
                      headers=VIEWER).json()
    # then
    assert [item["seq"] for item in rest["items"]] == [3]
    assert rest["items"][0]["event"]["type"] == "transfer.needs_review"
    # when reading past the end
    empty = client.get("/api/v1/events", params={"after": 3}, headers=VIEWER).json()
    # then
    assert empty == {"items": [], "next_after": 3}
    # when / then a limit too large is refused
    assert client.get("/api/v1/events", params={"limit": 1001},
                      headers=VIEWER).status_code == 422


def test_stats_count_by_provider_and_state_and_age(runtime, client, engine):
    # given
    review = in_review(runtime)
    settled(runtime)
    old = register(runtime, tx_id="old")
    register(runtime, tx_id="new")
    backdate(engine, old, timedelta(minutes=30))
    client.post(f"/api/v1/transfers/{review}/resolve", headers=OPERATOR,
                json={"outcome": "failed", "reason": "checked by phone"})

    # when
    body = client.get("/api/v1/stats", headers=VIEWER).json()
    # then
    assert {(c["provider"], c["state"]): c["count"] for c in body["counts"]} == {
        ("scripted-a", "failed"): 1, ("scripted-a", "succeeded"): 1,
        ("scripted-a", "pending"): 2}
    assert body["oldest_pending"]["id"] == old
    assert body["oldest_pending"]["age_s"] >= 30 * 60
    assert {b["bucket"]: b["count"] for b in body["pending_by_age"]} == {
        "under_1m": 1, "from_1m_to_10m": 0, "from_10m_to_1h": 1, "from_1h_to_24h": 0,
        "over_24h": 0}
    assert body["resolutions_last_hour"] == {"total": 2, "succeeded": 1, "failed": 1,
                                             "by_hand": 1}


def test_readiness_needs_no_token_and_reports_the_last_sweep(runtime, client):
    # when no sweep has run yet
    first = client.get("/readyz")
    # then
    assert first.status_code == 200
    assert first.json() == {"status": "ok", "postgres": True, "redis": True,
                            "seconds_since_sweep": None}
    # given a sweep three seconds ago
    heartbeat.beat(runtime.redis, heartbeat.SWEEP, datetime.now(UTC) - timedelta(seconds=3))
    # when / then
    assert 2 < client.get("/readyz").json()["seconds_since_sweep"] < 60


def test_not_ready_when_redis_is_down_yet_alive(admin_rt):
    # given Redis unreachable
    broken = dataclasses.replace(admin_rt, redis=unreachable_redis())
    # when
    with TestClient(create_app(lambda: broken)) as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    # then
    assert ready.status_code == 503
    assert ready.json()["status"] == "degraded"
    assert ready.json()["redis"] is False
    assert ready.json()["postgres"] is True
    # Liveness asks only whether the process answers: restarting it would not bring Redis back
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})


def test_not_ready_when_postgres_is_down(admin_rt):
    # given Postgres unreachable
    gone = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none",
                         connect_args={"connect_timeout": 1})
    broken = dataclasses.replace(admin_rt, engine=gone)
    # when
    with TestClient(create_app(lambda: broken)) as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    # then
    assert ready.status_code == 503
    assert (ready.json()["postgres"], ready.json()["redis"]) == (False, True)
    assert alive.status_code == 200


def test_contradicted_transfers_are_flagged_listed_and_shown(runtime, client):
    # given a transfer the engine settled as failed, then contradicted by the wallet, and another
    # settled one nobody contradicted
    contradicted = settled(runtime, tx_id="said-ok", outcome=Outcome.FAILED)
    quiet = settled(runtime, tx_id="quiet", outcome=Outcome.FAILED)
    with pytest.raises(Contradicted):
        service.complete(runtime, "scripted-a", "said-ok", "succeeded", by="wallet")

    # when an admin filters on the flag
    answer = client.get("/api/v1/transfers", params={"contradicted": "true"}, headers=VIEWER)
    # then only the contradicted one is listed, flagged
    assert [item["id"] for item in answer.json()["items"]] == [contradicted]
    assert answer.json()["items"][0]["contradicted"] is True
    # when listing everything
    everything = client.get("/api/v1/transfers", headers=VIEWER).json()["items"]
    # then only it is flagged
    assert {item["id"]: item["contradicted"] for item in everything} == \
        {contradicted: True, quiet: False}
    # when reading its history
    history = client.get(f"/api/v1/transfers/{contradicted}", headers=VIEWER).json()
    # then it carries the contradiction
    [row] = history["contradictions"]
    assert (history["state"], row["final_state"], row["reported_state"], row["reported_by"]) == \
        ("failed", "failed", "succeeded", "caller:wallet")
    # when / then the figures count it
    assert client.get("/api/v1/stats", headers=VIEWER).json()["contradicted"] == 1
