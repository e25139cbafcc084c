"""What the demo shows: live progress while it runs, and the summary at the end."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, func, select

from models import OutboxEvent, Transfer
from worker.domain.types import ALL_STATES
from worker.engine.resolve import ledger
from worker.process.db import transaction

STATES = ALL_STATES


def counts_by_provider(engine: Engine) -> dict[str, dict[str, int]]:
    with transaction(engine) as session:
        rows = session.execute(
            select(Transfer.provider, Transfer.state, func.count())
            .group_by(Transfer.provider, Transfer.state)
        ).all()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATES, 0))
    for provider, state, number in rows:
        counts[provider][state] = number
    return dict(sorted(counts.items()))


def state_table(counts: dict[str, dict[str, int]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("provider")
    for state in STATES:
        table.add_column(state, justify="right")
    totals = dict.fromkeys(STATES, 0)
    for provider, by_state in counts.items():
        table.add_row(provider, *(str(by_state[state]) for state in STATES))
        for state in STATES:
            totals[state] += by_state[state]
    table.add_row("all", *(str(totals[state]) for state in STATES), style="bold")
    return table


def progress_bar() -> Progress:
    return Progress(TextColumn("settled"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn())


def live_view(progress: Progress, counts: dict[str, dict[str, int]]) -> Group:
    return Group(progress, state_table(counts, "transfers by provider and state"))


def ledger_table(engine: Engine) -> Table:
    with transaction(engine) as session:
        balances = ledger.balances(session)
    by_kind: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for code, kind, currency, balance in balances:
        key = (currency, code if kind != "player" else "player:* (all players)")
        by_kind[key] += balance
    table = Table(title="ledger balances", title_justify="left")
    table.add_column("currency")
    table.add_column("account")
    table.add_column("balance", justify="right")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (currency, account), balance in sorted(by_kind.items()):
        table.add_row(currency, account, f"{balance:.4f}")
        totals[currency] += balance
    for currency, total in sorted(totals.items()):
        table.add_row(currency, "sum of all accounts", f"{total:.4f}", style="bold")
    return table


def event_counts(engine: Engine) -> tuple[int, int]:
    """(events written to the outbox, events published to the stream)."""
    with transaction(engine) as session:
        written = session.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
        published = session.execute(
            select(func.count()).select_from(OutboxEvent)
            .where(OutboxEvent.published_at.is_not(None))
        ).scalar_one()
    return int(written), int(published)
