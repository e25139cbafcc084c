"""The metrics' pure parts: the gauges built from a snapshot, the cache, breakers, names, port."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import fakeredis
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from worker.engine.check import throttle
from worker.metrics import engine, exported_names, state

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def snapshot(**overrides) -> state.Snapshot:
    fields = dict(
        taken_at=NOW.timestamp(),
        open_transfers=[
            state.OpenGroup("acme", "pending", "USD", 2, Decimal("30.1234"),
                            NOW - timedelta(minutes=5)),
            state.OpenGroup("acme", "pending", "EUR", 1, Decimal("7"),
                            NOW - timedelta(minutes=9)),
            state.OpenGroup("gone", "needs_review", "USD", 1, Decimal("1.5"),
                            NOW - timedelta(hours=2)),
        ],
        outbox_unpublished=3,
        outbox_oldest=NOW - timedelta(seconds=12),
        breakers={"acme": throttle.BreakerState("open", NOW.timestamp() + 5),
                  "zeta": throttle.BreakerState("closed")},
        last_sweep=NOW.timestamp() - 1,
    )
    fields.update(overrides)
    return state.Snapshot(**fields)


def gauges(found: state.Snapshot, instances=("acme", "zeta")) -> dict[tuple, float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in state.families(found, instances) for sample in family.samples}


def test_open_transfers_become_counts_money_and_ages_by_instance_and_state():
    # given a snapshot of two instances' open transfers, one of them no longer configured
    # when the gauges are built from it
    found = gauges(snapshot())

    # then counts add up over currencies, money stays per currency, the oldest is the oldest
    assert found[("resolver_transfers", (("provider", "acme"), ("state", "pending")))] == 3
    assert found[("resolver_unsettled_amount",
                  (("currency", "USD"), ("provider", "acme"), ("state", "pending")))] == 30.1234
    assert found[("resolver_oldest_unsettled_seconds",
                  (("provider", "acme"), ("state", "pending")))] == 9 * 60
    # an unconfigured instance's transfers are still money at risk
    assert found[("resolver_transfers", (("provider", "gone"), ("state", "needs_review")))] == 1
    # a configured instance shows zeros for the states it has nothing in
    assert found[("resolver_transfers", (("provider", "zeta"), ("state", "in_flight")))] == 0
    assert found[("resolver_oldest_unsettled_seconds",
                  (("provider", "zeta"), ("state", "pending")))] == 0
    assert found[("resolver_outbox_unpublished", ())] == 3
    assert found[("resolver_outbox_oldest_unpublished_seconds", ())] == 12
    assert found[("resolver_breaker_open", (("provider", "acme"),))] == 1
    assert found[("resolver_breaker_open", (("provider", "zeta"),))] == 0
    assert found[("resolver_last_sweep_timestamp_seconds", ())] == NOW.timestamp() - 1


def test_without_redis_the_breakers_and_the_sweep_are_left_out_not_guessed():
    # when
    found = gauges(snapshot(breakers=None, last_sweep=None, outbox_oldest=None,
                            outbox_unpublished=0))
    # then
    assert not [key for key in found if key[0] in ("resolver_breaker_open",
                                                    "resolver_last_sweep_timestamp_seconds")]
    assert found[("resolver_outbox_oldest_unpublished_seconds", ())] == 0


def test_the_collector_reads_once_per_period_whatever_the_scrapes(monkeypatch):
    # given a collector over a clock we move, and reads we count
    reads: list[float] = []

    def read(engine_, client, instances, now):
        reads.append(now)
        return snapshot(taken_at=now)

    monkeypatch.setattr(state, "read", read)
    clock = [1000.0]
    registry = CollectorRegistry()
    registry.register(state.StateCollector(None, None, ["acme"], ttl_s=5,  # type: ignore[arg-type]
                                           clock=lambda: clock[0]))

    # when it is scraped three times within the period, then once after it
    for moment in (1000.0, 1001.0, 1004.9, 1005.0):
        clock[0] = moment
        assert b"resolver_transfers{" in generate_latest(registry)

    # then the database was read twice
    assert reads == [1000.0, 1005.0]


def test_breaker_states_reads_every_instance_in_one_round_trip():
    # given
    client = fakeredis.FakeRedis()
    now = 5000.0
    client.set("resolver:breaker:open-one:open_until", "5010.5")
    client.set("resolver:breaker:probing:open_until", "4990")
    # when
    found = throttle.breaker_states(client, ["open-one", "probing", "never-failed"], now)
    # then
    assert found == {"open-one": throttle.BreakerState("open", 5010.5),
                     "probing": throttle.BreakerState("half_open", 4990.0),
                     "never-failed": throttle.BreakerState("closed")}
    assert throttle.breaker_states(client, [], now) == {}


def test_every_exported_name_follows_the_conventions():
    # when
    names = exported_names()
    # then
    assert {"resolver_checks_total", "resolver_provider_request_duration_seconds_bucket",
            "resolver_time_to_resolution_seconds_sum", "resolver_check_lag_seconds_count",
            "resolver_transfers", "resolver_breaker_open"} <= names
    assert all(name.startswith("resolver_") for name in names)
    # counters end in _total; durations and times are in seconds
    assert {name for name in names if "duration" in name or "lag" in name or "time" in name
            } <= {name for name in names if "_seconds" in name}


def test_a_batch_is_counted_once_per_outcome_with_its_calls_lags_and_resolutions():
    # given
    def read(name, **labels):
        from prometheus_client import REGISTRY
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (read("resolver_checks_total", provider="unit-p", outcome="PENDING"),
              read("resolver_provider_request_duration_seconds_count", provider="unit-p"),
              read("resolver_resolutions_total", provider="unit-p", state="failed",
                   source="engine"),
              read("resolver_time_to_resolution_seconds_count", provider="unit-p"),
              read("resolver_rate_limited_total", provider="unit-p"))
    # when
    engine.count_batch("unit-p", ["PENDING", "PENDING", "FAILED"], [0.1, 0.2, 0.3], [1.0],
                       [("failed", 42.0), ("needs_review", None)], rate_limited=2)
    # then
    after = (read("resolver_checks_total", provider="unit-p", outcome="PENDING"),
             read("resolver_provider_request_duration_seconds_count", provider="unit-p"),
             read("resolver_resolutions_total", provider="unit-p", state="failed",
                  source="engine"),
             read("resolver_time_to_resolution_seconds_count", provider="unit-p"),
             read("resolver_rate_limited_total", provider="unit-p"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 3, 1, 1, 2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def test_a_second_process_on_the_host_takes_the_next_free_port(monkeypatch):
    # given the first port of the range taken (by another worker process, say)
    monkeypatch.setattr(engine, "_served", None)
    taken = socket.socket()
    taken.bind(("", free_port()))
    taken.listen()
    first = taken.getsockname()[1]
    try:
        # when this process serves its metrics from that port on
        port = engine.serve(first, span=8)

        # then it took another port of the range, and serves the engine's metrics there
        assert port is not None and first < port < first + 8
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            assert b"# TYPE resolver_checks_total counter" in answer.read()
        assert engine.serve(first, span=8) == port  # once per process
    finally:
        taken.close()


def test_port_zero_serves_nothing(monkeypatch):
    # given
    monkeypatch.setattr(engine, "_served", None)
    # when / then
    assert engine.serve(0) is None


@pytest.mark.parametrize("name", sorted(state.GAUGES))
def test_every_gauge_says_what_it_measures(name):
    # when
    doc, labels = state.GAUGES[name]
    # then
    assert doc.endswith(".") and len(doc) > 30
    assert all(label in ("provider", "state", "currency") for label in labels)


def test_the_admin_serves_its_own_resolutions_but_not_the_engine_zeros():
    # given this process counted a resolution by hand
    engine.count_resolutions("unit-admin", "admin", [("failed", 30.0)])

    # when the admin's share of the process registry is collected
    names = {family.name for family in state.ProcessCollector().collect()}

    # then the resolutions and the process's own figures are there, the engine's are not
    assert {"resolver_resolutions", "resolver_time_to_resolution_seconds"} <= names
    assert any(name.startswith("process_") for name in names)
    assert not names & {"resolver_check_lag_seconds", "resolver_sweep_duration_seconds",
                        "resolver_last_sweep_timestamp_seconds", "resolver_checks"}
