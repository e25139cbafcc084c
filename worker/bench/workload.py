"""The benchmark's transfers: generated once, loaded the same way before every contender's run.

Every transfer answers pending twice and then its final answer, spread evenly over the five
provider kinds. They are registered straight into the database through intake's own function
(the same rows and hold postings a wallet's registration writes) with their first check far in
the future; `make_due` then sets every one due at the same instant, which starts the clock.
The drain measures settling, not intake, so registering beforehand is fair to all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from sqlalchemy import Engine, text

from worker import intake
from worker.db import transaction
from worker.demo import scenario
from worker.providers.instance import ProviderInstance

KINDS = [i for i in scenario.instances() if i.name != "naga-wrong-secret"]
# What the drain's scripts cost at least: pending, pending, final.
QUERIES_PER_TRANSFER = 3
# Pushed this far ahead at load, so nothing is due until the clock starts.
NOT_YET = timedelta(days=1)
# Every table a run writes; emptied between runs (ledger rows are immutable, so TRUNCATE).
TABLES = ("webhook_attempts", "webhook_deliveries", "webhook_fanout_queue", "contradictions",
          "audit_records", "outbox_events", "ledger_entries", "ledger_accounts", "checks",
          "transfers")


def transfers(count: int) -> list[scenario.DemoTransfer]:
    """`count` transfers over the five kinds in turn; some end failed, the rest succeed."""
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
            story=f"pending twice, then {final}",
            script=[{"answer": "pending", "times": 2}, {"answer": final}]))
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
            request = intake.parse_request(transfer.registration(), providers, now)
            intake.register(session, request, providers[request.provider], by="bench", now=now)
        session.execute(text("UPDATE transfers SET next_check_at = :later"),
                        {"later": now + NOT_YET})


def make_due(engine: Engine) -> datetime:
    """Every pending transfer due now, in one statement; the instant is the drain's start."""
    with engine.begin() as connection:
        return connection.execute(text(
            "UPDATE transfers SET next_check_at = now() WHERE state = 'pending' "
            "RETURNING next_check_at")).scalars().first() or datetime.now(UTC)


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
