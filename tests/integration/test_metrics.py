"""Metrics end to end: the admin app's gauges and a worker process's counters after real work.

Transfers are registered, swept, checked, completed by their caller and resolved by hand
through the engine's own functions; then the admin app's /metrics is scraped as Prometheus
would, and the worker's registry (the one its metrics port serves) is read.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from models import OutboxEvent
from tests.integration.admin.support import with_tokens
from tests.integration.support import register
from worker.admin import actions
from worker.admin.app import create_app
from worker.domain.types import Outcome
from worker.engine.check.batch import NoGuard, run_batch
from worker.engine.intake import service
from worker.engine.sweep.due import Claim
from worker.metrics import exported_names
from worker.process import tasks
from worker.process.db import transaction
from worker.process.runtime import Runtime
from worker.providers.scripted import SCRIPTS
from worker.webhooks import runner
from worker.webhooks.config import EVENT_TYPES, Subscriber

pytestmark = pytest.mark.integration

ENGINE_FAMILIES = (
    "resolver_checks_total", "resolver_provider_request_duration_seconds_count",
    "resolver_resolutions_total", "resolver_time_to_resolution_seconds_count",
    "resolver_check_lag_seconds_count", "resolver_sweep_duration_seconds_count",
    "resolver_sweep_claimed_total", "resolver_last_sweep_timestamp_seconds",
    "resolver_rate_limited_total", "resolver_webhook_deliveries_total",
)
STATE_FAMILIES = (
    "resolver_transfers", "resolver_unsettled_amount", "resolver_oldest_unsettled_seconds",
    "resolver_outbox_unpublished", "resolver_outbox_oldest_unpublished_seconds",
    "resolver_breaker_open", "resolver_last_sweep_timestamp_seconds",
)


def scrape_admin(runtime: Runtime) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The admin app's /metrics as Prometheus reads it. A new app each time: its gauges are
    cached a few seconds, and these tests change the database between scrapes."""
    with TestClient(create_app(lambda: with_tokens(runtime))) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples}


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def worker_value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_scrape_of_the_admin_app_and_a_worker_shows_every_metric(runtime, monkeypatch):
    # given three transfers registered (and due at once) and one in flight
    for n, amount in enumerate(("10.50", "20.00", "30.25")):
        register(runtime, tx_id=f"m-{n}", amount=amount)
    service.begin(runtime, {"provider": "scripted-a", "tx_id": "m-flight", "direction": "deposit",
                        "player_id": "player-7", "amount": "5", "currency": "EUR"}, by="wallet")

    # when the admin app is scraped
    before_work = scrape_admin(runtime)

    # then it counts them by state, sums the money at risk and ages the oldest
    assert value(before_work, "resolver_transfers", provider="scripted-a", state="pending") == 3
    assert value(before_work, "resolver_transfers", provider="scripted-a",
                 state="in_flight") == 1
    assert value(before_work, "resolver_transfers", provider="scripted-a",
                 state="needs_review") == 0
    assert value(before_work, "resolver_unsettled_amount", provider="scripted-a",
                 currency="USD", state="pending") == pytest.approx(60.75)
    assert value(before_work, "resolver_unsettled_amount", provider="scripted-a",
                 currency="EUR", state="in_flight") == 5
    oldest = value(before_work, "resolver_oldest_unsettled_seconds", provider="scripted-a",
                   state="pending")
    assert oldest is not None and 0 <= oldest < 60
    assert value(before_work, "resolver_breaker_open", provider="scripted-a") == 0
    assert value(before_work, "resolver_last_sweep_timestamp_seconds") == 0  # none ran yet

    # given the worker's counters as they stand (they belong to this process, across tests)
    checks_before = {outcome: worker_value("resolver_checks_total", provider="scripted-a",
                                           outcome=outcome)
                     for outcome in ("SUCCEEDED", "RATE_LIMITED", "MISMATCH")}
    counted = {name: worker_value(name, **labels) for name, labels in (
        ("resolver_provider_request_duration_seconds_count", {"provider": "scripted-a"}),
        ("resolver_time_to_resolution_seconds_count", {"provider": "scripted-a"}),
        ("resolver_check_lag_seconds_count", {}),
        ("resolver_sweep_duration_seconds_count", {}),
        ("resolver_sweep_claimed_total", {"provider": "scripted-a"}),
        ("resolver_rate_limited_total", {"provider": "scripted-a"}),
    )}
    resolutions_before = {key: worker_value("resolver_resolutions_total", provider="scripted-a",
                                            state=key[0], source=key[1])
                          for key in (("succeeded", "engine"), ("needs_review", "engine"),
                                      ("succeeded", "caller"), ("failed", "admin"))}

    # when beat's sweep claims the three, their batch is checked (one succeeds, one is rate
    # limited by the provider, one disagrees and goes to review), the caller completes the one
    # in flight, an admin fails the reviewed one, and a webhook attempt fails
    dispatched: list[list[Claim]] = []
    monkeypatch.setattr(tasks, "dispatch_checks", dispatched.append)
    for tx_id, outcome in (("m-0", Outcome.SUCCEEDED), ("m-1", Outcome.RATE_LIMITED),
                           ("m-2", Outcome.MISMATCH)):
        SCRIPTS.load("scripted-a", tx_id, [outcome])
    started = time.time()
    tasks.sweep_due()
    [claims] = dispatched
    assert all(claim.due_at is not None for claim in claims)
    run_batch(runtime.engine, runtime.providers, claims, runtime.adapter_for, NoGuard())
    service.complete(runtime, "scripted-a", "m-flight", "succeeded", by="wallet")
    reviewed = next(claim.transfer_id for claim in claims if claim.ref.tx_id == "m-2")
    actions.resolve_by_hand(runtime.engine, reviewed, "failed", actor="olga",
                            reason="the provider's back office has no such deposit")
    unreachable = Subscriber(name="finance", url="http://127.0.0.1:1/hooks",
                             secret="whsec_" + "x" * 32,
                             types=frozenset(EVENT_TYPES), timeout_s=1, connect_timeout_s=0.5)
    retrying_before = worker_value("resolver_webhook_deliveries_total", subscriber="finance",
                                   result="retrying")
    setup = runner.WebhookSetup(subscribers={"finance": unreachable},
                                schedule=(timedelta(seconds=30),), lease=timedelta(seconds=5),
                                batch=10)
    runner.run_once(runtime.engine, setup, runner.inline(runtime.engine, setup))

    # then the worker's registry counted each check, call, lag, resolution and sweep once
    for outcome in checks_before:
        assert worker_value("resolver_checks_total", provider="scripted-a",
                            outcome=outcome) == checks_before[outcome] + 1
    assert {name: worker_value(name, **labels) - counted[name] for name, labels in (
        ("resolver_provider_request_duration_seconds_count", {"provider": "scripted-a"}),
        ("resolver_time_to_resolution_seconds_count", {"provider": "scripted-a"}),
        ("resolver_check_lag_seconds_count", {}),
        ("resolver_sweep_duration_seconds_count", {}),
        ("resolver_sweep_claimed_total", {"provider": "scripted-a"}),
        ("resolver_rate_limited_total", {"provider": "scripted-a"}),
    )} == {
        "resolver_provider_request_duration_seconds_count": 3,
        "resolver_time_to_resolution_seconds_count": 3,  # engine, caller and admin
        "resolver_check_lag_seconds_count": 3,
        "resolver_sweep_duration_seconds_count": 1,
        "resolver_sweep_claimed_total": 3,
        "resolver_rate_limited_total": 1,
    }
    assert {key: worker_value("resolver_resolutions_total", provider="scripted-a",
                              state=key[0], source=key[1]) - was
            for key, was in resolutions_before.items()} == {
        ("succeeded", "engine"): 1, ("needs_review", "engine"): 1,
        ("succeeded", "caller"): 1, ("failed", "admin"): 1}
    assert worker_value("resolver_last_sweep_timestamp_seconds") >= started
    assert worker_value("resolver_webhook_deliveries_total", subscriber="finance",
                        result="retrying") - retrying_before >= 1

    # and what the worker's port serves holds every engine metric
    served = {sample for sample, _ in samples(generate_latest(REGISTRY).decode())}
    assert set(ENGINE_FAMILIES) <= served

    # when the admin app is scraped again, with the instance's breaker open
    runtime.redis.set("resolver:breaker:scripted-a:open_until", repr(time.time() + 30))
    after_work = scrape_admin(runtime)

    # then only the rate-limited transfer is still at risk, the events wait for the relay,
    # the breaker shows open and the sweep's heartbeat is seen
    assert value(after_work, "resolver_transfers", provider="scripted-a", state="pending") == 1
    assert value(after_work, "resolver_transfers", provider="scripted-a",
                 state="in_flight") == 0
    assert value(after_work, "resolver_unsettled_amount", provider="scripted-a",
                 currency="USD", state="pending") == pytest.approx(20.0)
    assert value(after_work, "resolver_unsettled_amount", provider="scripted-a",
                 currency="EUR", state="in_flight") is None
    with transaction(runtime.engine) as session:
        unpublished = session.execute(select(func.count()).select_from(OutboxEvent)
                                      .where(OutboxEvent.published_at.is_(None))).scalar_one()
    assert unpublished == 4  # resolved, to review, completed, resolved by hand
    assert value(after_work, "resolver_outbox_unpublished") == unpublished
    assert 0 <= (value(after_work, "resolver_outbox_oldest_unpublished_seconds") or -1) < 60
    assert value(after_work, "resolver_breaker_open", provider="scripted-a") == 1
    assert (value(after_work, "resolver_last_sweep_timestamp_seconds") or 0) >= started - 1
    names = {name for name, _ in after_work}
    assert set(STATE_FAMILIES) <= names
    # the admin process's own counters ride along (resolutions by hand are counted there)
    assert "resolver_resolutions_total" in names
    assert names - {n for n in names if not n.startswith("resolver_")} <= exported_names()


def test_the_admin_gauges_are_read_once_per_cache_period(runtime):
    # given an admin app scraped once with a pending transfer
    register(runtime, tx_id="cached")
    with TestClient(create_app(lambda: with_tokens(runtime))) as client:
        first = samples(client.get("/metrics").text)
        # when another transfer arrives and the app is scraped again at once
        register(runtime, tx_id="cached-2")
        second = samples(client.get("/metrics").text)
    # then the second scrape is answered from the cache, not from Postgres
    assert value(first, "resolver_transfers", provider="scripted-a", state="pending") == 1
    assert value(second, "resolver_transfers", provider="scripted-a", state="pending") == 1


def test_a_batch_that_does_not_commit_counts_nothing(runtime, monkeypatch):
    # given a due transfer, claimed, and a database that fails the batch's apply
    register(runtime, tx_id="rolled-back")
    SCRIPTS.load("scripted-a", "rolled-back", [Outcome.SUCCEEDED])
    dispatched: list[list[Claim]] = []
    monkeypatch.setattr(tasks, "dispatch_checks", dispatched.append)
    tasks.sweep_due()
    [claims] = dispatched
    from worker.engine.resolve import apply_batch

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away mid-batch")

    monkeypatch.setattr(apply_batch, "_post", broken)
    before = worker_value("resolver_checks_total", provider="scripted-a", outcome="SUCCEEDED")
    resolved = worker_value("resolver_resolutions_total", provider="scripted-a",
                            state="succeeded", source="engine")

    # when the batch is checked and its transaction rolls back
    with pytest.raises(RuntimeError):
        run_batch(runtime.engine, runtime.providers, claims, runtime.adapter_for, NoGuard(),
                  clock=lambda: datetime.now(UTC))

    # then neither the check nor the resolution was counted
    assert worker_value("resolver_checks_total", provider="scripted-a",
                        outcome="SUCCEEDED") == before
    assert worker_value("resolver_resolutions_total", provider="scripted-a",
                        state="succeeded", source="engine") == resolved
