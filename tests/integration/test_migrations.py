"""The migration chain on an empty database: up to head, agrees with the models, back to base."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.conftest import SERVER, _admin
from worker import migrate

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_database():
    name = f"resolver_migr_{uuid.uuid4().hex[:10]}"
    admin = _admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{SERVER}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_check_and_downgrade(empty_database):
    migrate.upgrade(empty_database)
    assert {"transfers", "checks", "ledger_accounts", "ledger_entries", "outbox_events",
            "audit_records"} <= tables(empty_database)

    # Raises if the models and the migrations disagree.
    command.check(migrate.alembic_config(empty_database))

    migrate.downgrade(empty_database, "base")
    assert tables(empty_database) <= {"alembic_version"}


def test_due_transfers_are_found_by_an_index_scan(engine):
    with engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(connection.execute(text(
            "EXPLAIN SELECT id FROM transfers WHERE state = 'pending' AND provider = 'x' "
            "AND next_check_at <= now() ORDER BY next_check_at LIMIT 10"
        )).scalars())
    assert "ix_transfers_due" in plan
