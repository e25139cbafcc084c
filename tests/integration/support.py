"""Small builders shared by the integration tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import LedgerEntry, OutboxEvent, Transfer
from worker.engine.intake import service
from worker.process.db import transaction
from worker.process.runtime import Runtime


def request(**overrides: Any) -> dict[str, Any]:
    payload = {
        "provider": "scripted-a",
        "tx_id": "tx-1",
        "direction": "deposit",
        "player_id": "player-7",
        "amount": "10.00",
        "currency": "USD",
    }
    payload.update(overrides)
    return payload


def register(runtime: Runtime, **overrides: Any) -> int:
    return int(service.register(runtime, request(**overrides), by="test")["id"])


def load(engine: Engine, transfer_id: int) -> Transfer:
    with transaction(engine) as session:
        return session.get_one(Transfer, transfer_id)


def count(engine: Engine, model: type) -> int:
    with transaction(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def entries(engine: Engine, transfer_id: int) -> list[tuple[str, str, str, Decimal]]:
    """(kind, from account code, to account code, amount) in posting order."""
    from models import Account

    with transaction(engine) as session:
        rows = session.execute(
            select(LedgerEntry).where(LedgerEntry.transfer_id == transfer_id)
            .order_by(LedgerEntry.id)
        ).scalars().all()
        return [
            (row.kind, _code(session, Account, row.from_account_id),
             _code(session, Account, row.to_account_id), row.amount)
            for row in rows
        ]


def events(engine: Engine, transfer_id: int) -> list[OutboxEvent]:
    with transaction(engine) as session:
        return list(session.execute(
            select(OutboxEvent).where(OutboxEvent.transfer_id == transfer_id)
            .order_by(OutboxEvent.seq)
        ).scalars())


def make_due(engine: Engine, transfer_id: int | None = None) -> None:
    """Bring the next check forward to now (what `resolver recheck` does)."""
    from sqlalchemy import update

    with transaction(engine) as session:
        statement = update(Transfer).where(Transfer.state == "pending")
        if transfer_id is not None:
            statement = statement.where(Transfer.id == transfer_id)
        session.execute(statement.values(next_check_at=datetime.now(UTC),
                                         version=Transfer.version + 1))


def _code(session: Session, model: Any, account_id: int) -> str:
    return str(session.get_one(model, account_id).code)


def one_vct_instance(secret_variable: str) -> str:
    """A providers file with one instance whose secret comes from `secret_variable`."""
    return f"""
[providers.vct-main]
kind = "vct"
base_url = "https://vct.example.test"
[providers.vct-main.credentials]
api_key = "public-key-id"
api_secret = "${{{secret_variable}}}"
"""
