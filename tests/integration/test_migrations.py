"""The migration chain: up to head, agrees with the models, back to base; and a downgrade
that would drop tables holding rows refuses unless RESOLVER_ALLOW_DESTRUCTIVE_DOWNGRADE=1."""

from __future__ import annotations

import ast
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests.conftest import SERVER, _admin
from tests.integration.support import register
from worker.process import migrate
from worker.process.downgrade_guard import ALLOW_VARIABLE, DestructiveDowngrade

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


def test_upgrade_check_and_downgrade(empty_database, monkeypatch):
    # given
    monkeypatch.delenv(ALLOW_VARIABLE, raising=False)
    # when it is upgraded to head
    migrate.upgrade(empty_database)
    # then
    assert {"transfers", "checks", "ledger_accounts", "ledger_entries", "outbox_events",
            "audit_records"} <= tables(empty_database)

    # when / then the models agree with the migrations
    # Raises if the models and the migrations disagree.
    command.check(migrate.alembic_config(empty_database))
    # A constraint added NOT VALID to spare a live table's lock is validated before head.
    assert unvalidated_constraints(empty_database) == []

    # when it is downgraded to base
    migrate.downgrade(empty_database, "base")
    # then
    assert tables(empty_database) <= {"alembic_version"}


def unvalidated_constraints(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(
                "SELECT conname FROM pg_constraint WHERE NOT convalidated")).scalars())
    finally:
        engine.dispose()


def schema_and_rows(url: str) -> tuple[set[str], str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            transfers = connection.execute(text("SELECT count(*) FROM transfers"))
            return tables(url), version.scalar_one(), transfers.scalar_one()
    finally:
        engine.dispose()


def test_downgrade_of_a_database_with_a_transfer_refuses_and_changes_nothing(
        runtime, database_url, monkeypatch):
    # given
    monkeypatch.delenv(ALLOW_VARIABLE, raising=False)
    register(runtime)
    before = schema_and_rows(database_url)

    # when / then
    with pytest.raises(DestructiveDowngrade) as refusal:
        migrate.downgrade(database_url, "base")

    # then
    message = str(refusal.value)
    assert "would drop tables that hold rows" in message
    assert "transfers (1 row)" in message
    assert "ledger_entries (" in message
    assert f"{ALLOW_VARIABLE}=1" in message
    # 0003 and 0002 ran before 0001 refused; the one transaction undid them too.
    assert schema_and_rows(database_url) == before


def test_downgrade_with_the_variable_drops_the_rows_too(runtime, database_url, monkeypatch):
    # given
    register(runtime)
    monkeypatch.setenv(ALLOW_VARIABLE, "1")

    # when
    migrate.downgrade(database_url, "base")

    # then
    assert tables(database_url) <= {"alembic_version"}


def test_every_downgrade_that_drops_tables_guards_each_of_them():
    for path in sorted(migrate.migrations_folder().glob("versions/*.py")):
        # given
        downgrade = next(node for node in ast.parse(path.read_text()).body
                         if isinstance(node, ast.FunctionDef) and node.name == "downgrade")
        # when
        dropped = set(_string_arguments(downgrade, "drop_table"))
        guarded = set(_string_arguments(downgrade, "refuse_dropping_rows"))
        # then
        assert dropped <= guarded, f"{path.name}: downgrade drops {sorted(dropped - guarded)} " \
                                   "without refuse_dropping_rows(...) naming them"


def _string_arguments(function: ast.FunctionDef, called: str) -> list[str]:
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name == called:
                found += [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
    return found


def test_due_transfers_are_found_by_an_index_scan(engine):
    # given
    with engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        # when
        plan = "\n".join(connection.execute(text(
            "EXPLAIN SELECT id FROM transfers WHERE state = 'pending' AND provider = 'x' "
            "AND next_check_at <= now() ORDER BY next_check_at LIMIT 10"
        )).scalars())
    # then
    assert "ix_transfers_due" in plan
