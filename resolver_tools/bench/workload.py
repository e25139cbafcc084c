"""The benchmark's transfers: generated once, loaded the same way before every contender's run.

Spread evenly over the five provider kinds, each answers pending a number of times set by the
scenario (`PENDING_ANSWERS`) and then its final answer. They are registered straight into the
database through intake's own function (the same rows and hold postings a wallet's registration
writes) with their first check far in the future; `make_due` then sets each one due, all at the
go instant (drain) or one every 1/rate seconds from it (steady), in one statement. The
benchmark measures settling, not intake, so registering beforehand is fair to all three.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from sqlalchemy import Engine, text

from resolver_tools.demo import scenario
from worker.engine.intake import registration
from worker.process.db import transaction
from worker.providers.instance import ProviderInstance

KINDS = [i for i in scenario.instances() if i.name != "naga-wrong-secret"]
# Pending answers before the final one, per scenario. The drain asks three times per transfer to
# measure the re-check loop. Steady answers on the first query: 200 arrivals/s at three queries
# each would be 600 checks/s, about twice what the bare limit manages on two shared cores, so
# every design would fall behind for want of machine and the lag would measure throughput.
# With one query the arrival rate is within reach and the lag is the design's own.
PENDING_ANSWERS = {"drain": 2, "steady": 0}
# Pushed this far ahead at load, so nothing is due until the clock starts.
NOT_YET = timedelta(days=1)
# Every table a run writes; emptied between runs (ledger rows are immutable, so TRUNCATE).
TABLES = ("webhook_attempts", "webhook_deliveries", "webhook_fanout_queue", "contradictions",
          "audit_records", "outbox_events", "ledger_entries", "ledger_accounts", "checks",
          "transfers")


def queries_per_transfer(scenario_name: str) -> int:
    """What one transfer's script costs at least: its pending answers and the final one."""
    return PENDING_ANSWERS[scenario_name] + 1


def script_text(scenario_name: str) -> str:
    pending = PENDING_ANSWERS[scenario_name]
    return "pending, " * pending + "then " * bool(pending) + \
        "succeeded or (1 in 10 but HRG) failed"


def transfers(count: int, scenario_name: str = "drain") -> list[scenario.DemoTransfer]:
    """`count` transfers over the five kinds in turn; some end failed, the rest succeed."""
    pending = PENDING_ANSWERS[scenario_name]
    made = []
    for n in range(count):
        instance = KINDS[n % len(KINDS)]
        player = f"player-{n % 97:02d}"
        # One in ten fails, counted within each kind; HRG has no failed answer (a failed
        # transfer is one it never recorded, settled by the not-found grace), so it succeeds.
        fails = instance.kind != "hrg" and (n // len(KINDS)) % 10 == 9
        final = "failed" if fails else "succeeded"
        made.append(scenario.DemoTransfer(
            instance=instance, tx_id=f"BENCH{n:08d}",
            direction="withdraw" if n % 3 == 2 else "deposit",
            amount=Decimal(1000 + n % 9000) / 100, player_id=player,
            player_ref=f"tok-{player}" if instance.kind == "minigame" else None,
            behaviour=f"pending {pending} time(s), then {final}",
            script=([{"answer": "pending", "times": pending}] if pending else [])
            + [{"answer": final}]))
    return made


def reset_database(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))


def load_database(engine: Engine, providers: Mapping[str, ProviderInstance],
                  made: list[scenario.DemoTransfer]) -> None:
    """Register every transfer as intake does, none due yet."""
    now = datetime.now(UTC)
    with transaction(engine) as session:
        for transfer in made:
            request = registration.parse_request(transfer.registration(), providers, now)
            registration.register(session, request, providers[request.provider], by="bench",
                                  now=now)
        session.execute(text("UPDATE transfers SET next_check_at = :later"),
                        {"later": now + NOT_YET})


def due_offsets(count: int, rate: float | None) -> list[float]:
    """Seconds after the go instant at which each transfer (in id order) falls due: all at once
    without a rate (drain), else transfer i at i/rate (steady)."""
    return [n / rate if rate else 0.0 for n in range(count)]


def make_due(engine: Engine, ids: Sequence[int], offsets: Sequence[float]) -> datetime:
    """Each transfer due at the go instant plus its offset, in one statement; returns the go
    instant (the transaction's `now()`, the same for every row)."""
    with engine.begin() as connection:
        # One UPDATE joined to the (id, offset) pairs: the rows' due times all count from the
        # same now(), and the sweep finds each one as it falls due.
        return connection.execute(text(
            """
            UPDATE transfers t SET next_check_at = now() + due.offset_s * interval '1 second'
            FROM unnest(CAST(:ids AS bigint[]), CAST(:offsets AS float8[])) AS due(id, offset_s)
            WHERE t.id = due.id AND t.state = 'pending'
            RETURNING now()
            """), {"ids": list(ids), "offsets": list(offsets)}).scalars().first() \
            or datetime.now(UTC)


def monotonic_at(epoch_s: float) -> float:
    """An instant (epoch seconds) on this process's monotonic clock, to wait for due times
    without drift."""
    return time.monotonic() - (time.time() - epoch_s)


def pending_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT id FROM transfers WHERE state = 'pending' ORDER BY id")).scalars())


def reset_simulator(sim_url: str, made: list[scenario.DemoTransfer], latency_ms: int) -> None:
    """Forget answers and counts, then load the scripts again and set the provider latency."""
    requests.post(f"{sim_url}/_sim/reset", json={}, timeout=30).raise_for_status()
    requests.post(f"{sim_url}/_sim/transactions",
                  json=[t.sim_transaction() for t in made], timeout=120).raise_for_status()
    requests.post(f"{sim_url}/_sim/settings", json={"latency_ms": latency_ms},
                  timeout=5).raise_for_status()


def simulator_queries(sim_url: str) -> dict[str, Any]:
    stats: dict[str, Any] = requests.get(f"{sim_url}/_sim/stats", timeout=10).json()
    return stats
