"""Migrations build indexes on tables that already hold rows CONCURRENTLY, outside the
transaction, and add CHECK and FOREIGN KEY constraints to them NOT VALID, validated outside the
transaction too, so a migration on a live database does not block intake, the sweep or the
checks for as long as a build or a scan takes. Read from the migration files' source (no
database needed): an index or a constraint on a table the same upgrade creates is exempt, as
that table is empty."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _op_call(node: ast.AST, name: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == name and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "op")


def _in_autocommit_block(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Attribute)
            and item.context_expr.func.attr == "autocommit_block"
            for item in node.items
        ):
            return True
    return False


def _upgrade(source: str) -> tuple[ast.FunctionDef, list[ast.Call], set[str]]:
    """upgrade(), its calls, and the tables it creates."""
    tree = ast.parse(source)
    [upgrade] = [node for node in tree.body
                 if isinstance(node, ast.FunctionDef) and node.name == "upgrade"]
    calls = [node for node in ast.walk(upgrade) if isinstance(node, ast.Call)]
    created = {ast.literal_eval(call.args[0]) for call in calls if _op_call(call, "create_table")}
    return upgrade, calls, created


def _parents(function: ast.FunctionDef) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(function)
            for child in ast.iter_child_nodes(parent)}


def _flag(call: ast.Call, name: str) -> bool:
    return any(keyword.arg == name and ast.literal_eval(keyword.value) is True
               for keyword in call.keywords)


def blocking_index_builds(source: str) -> list[str]:
    """The indexes that upgrade() builds on a table it did not create, without
    postgresql_concurrently=True inside an autocommit block: each one would lock its table."""
    upgrade, calls, created = _upgrade(source)
    parents = _parents(upgrade)
    found = []
    for call in calls:
        if not _op_call(call, "create_index"):
            continue
        index, table = ast.literal_eval(call.args[0]), ast.literal_eval(call.args[1])
        if table in created:
            continue
        concurrently = _flag(call, "postgresql_concurrently")
        if not (concurrently and _in_autocommit_block(call, parents)):
            found.append(f"{index} on {table}")
    return found


ALTERED = re.compile(r"ALTER\s+TABLE\s+(?:ONLY\s+)?(\w+)\s+([^;]*)", re.IGNORECASE)
CLAUSE = re.compile(r",\s*(?=(?:ADD|DROP|ALTER|VALIDATE)\b)", re.IGNORECASE)
ADDED = re.compile(r"ADD\s+CONSTRAINT\s+(\w+)\s+(?:CHECK|FOREIGN\s+KEY)", re.IGNORECASE)
VALIDATED = re.compile(r"VALIDATE\s+CONSTRAINT\s+(\w+)", re.IGNORECASE)


def _added_in_sql(sql: str) -> list[tuple[str, str, bool]]:
    """(constraint, table, NOT VALID) for each CHECK or FOREIGN KEY an ALTER TABLE adds."""
    return [(added.group(1), table, "NOT VALID" in clause.upper())
            for table, clauses in ALTERED.findall(sql) for clause in CLAUSE.split(clauses)
            if (added := ADDED.match(clause.strip()))]


def _name(node: ast.expr) -> str:
    """A constraint's name, given as a string or as op.f("...")."""
    if isinstance(node, ast.Call) and _op_call(node, "f"):
        node = node.args[0]
    return ast.literal_eval(node)


def _sql(call: ast.Call, constants: dict[str, str]) -> str:
    """The text an op.execute() runs, when it is a string or a module-level string constant."""
    [statement] = call.args[:1] or [ast.Constant("")]
    if isinstance(statement, ast.Name):
        return constants.get(statement.id, "")
    return statement.value if isinstance(statement, ast.Constant) else ""


def scanning_constraints(source: str) -> list[str]:
    """The CHECK and FOREIGN KEY constraints that upgrade() adds to a table it did not create
    without NOT VALID, or NOT VALID but not validated inside an autocommit block: adding one
    scans the table under an ACCESS EXCLUSIVE lock, and so does validating it in the
    transaction that added it (the lock is held until the commit)."""
    upgrade, calls, created = _upgrade(source)
    parents = _parents(upgrade)
    constants = {target.id: node.value.value for node in ast.parse(source).body
                 if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                 and isinstance(node.value.value, str)
                 for target in node.targets if isinstance(target, ast.Name)}
    added: list[tuple[str, str, bool]] = []  # (constraint, table, NOT VALID)
    validated: set[str] = set()
    for call in calls:
        if _op_call(call, "create_check_constraint") or _op_call(call, "create_foreign_key"):
            added.append((_name(call.args[0]), ast.literal_eval(call.args[1]),
                          _flag(call, "postgresql_not_valid")))
        elif _op_call(call, "execute"):
            sql = _sql(call, constants)
            added += _added_in_sql(sql)
            if _in_autocommit_block(call, parents):
                validated.update(VALIDATED.findall(sql))
    return [f"{name} on {table}" for name, table, not_valid in added
            if table not in created and not (not_valid and name in validated)]


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda path: path.stem)
def test_constraints_on_existing_tables_are_validated_outside_the_transaction(path: Path):
    # when / then a migration's upgrade that adds CHECK or FOREIGN KEY constraints scans no
    # table with rows while holding it locked.
    assert scanning_constraints(path.read_text()) == [], (
        f"{path.name}: add these with postgresql_not_valid=True (or NOT VALID) and run "
        "VALIDATE CONSTRAINT inside `with op.get_context().autocommit_block():` (see 0007)")


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda path: path.stem)
def test_indexes_on_existing_tables_are_built_concurrently(path: Path):
    # when / then a migration's upgrade that builds indexes blocks no table with rows.
    assert blocking_index_builds(path.read_text()) == [], (
        f"{path.name}: build these with postgresql_concurrently=True inside "
        "`with op.get_context().autocommit_block():` (see 0005)")


PLAIN = '''
def upgrade():
    op.create_table("fresh", sa.Column("id", sa.Integer()))
    op.create_index("ix_fresh_id", "fresh", ["id"])
    op.create_index("ix_transfers_x", "transfers", ["x"])
    op.create_index("ix_transfers_y", "transfers", ["y"], postgresql_concurrently=True)
    with op.get_context().autocommit_block():
        op.create_index("ix_checks_z", "checks", ["z"], postgresql_concurrently=True)
'''


def test_the_scan_flags_plain_and_in_transaction_builds_on_existing_tables():
    # given an upgrade with a new table's index, a plain build, a concurrent build left inside
    # the transaction (Postgres refuses it there) and a proper one,
    # when / then scanned, exactly the two existing-table builds outside a block are named.
    assert blocking_index_builds(PLAIN) == ["ix_transfers_x on transfers",
                                            "ix_transfers_y on transfers"]


CONSTRAINTS = '''
ADD_LATER = ("ALTER TABLE checks DROP CONSTRAINT ck_checks_b, "
             "ADD CONSTRAINT ck_checks_b CHECK (b IN (1, 2)) NOT VALID, "
             "ADD CONSTRAINT ck_checks_c CHECK (c IN (1, 2))")


def upgrade():
    op.create_table("fresh", sa.Column("id", sa.Integer()))
    op.create_check_constraint("ck_fresh_id", "fresh", "id > 0")
    op.create_check_constraint(op.f("ck_transfers_x"), "transfers", "x > 0")
    op.create_foreign_key("fk_checks_t", "checks", "transfers", ["t"], ["id"],
                          postgresql_not_valid=True)
    op.create_check_constraint("ck_transfers_y", "transfers", "y > 0", postgresql_not_valid=True)
    op.execute("ALTER TABLE ledger_entries ADD CONSTRAINT ck_ledger_entries_z CHECK (z > 0)")
    op.execute(ADD_LATER)
    op.execute("ALTER TABLE transfers VALIDATE CONSTRAINT ck_transfers_y")
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE checks VALIDATE CONSTRAINT ck_checks_b")
'''


def test_the_scan_flags_constraints_that_scan_an_existing_table_under_its_lock():
    # given an upgrade with a new table's check, a plain check, a foreign key left unvalidated,
    # a check validated inside the transaction, plain ones in SQL and a proper one in SQL,
    # when / then scanned, all but the new table's and the proper one are named.
    assert scanning_constraints(CONSTRAINTS) == [
        "ck_transfers_x on transfers", "fk_checks_t on checks", "ck_transfers_y on transfers",
        "ck_ledger_entries_z on ledger_entries", "ck_checks_c on checks"]
