"""Migrations build indexes on tables that already hold rows CONCURRENTLY, outside the
transaction, so a migration on a live database does not block intake, the sweep or the checks
for as long as a build takes. Read from the migration files' source (no database needed): an
index on a table the same upgrade creates is exempt, as that table is empty."""

from __future__ import annotations

import ast
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


def blocking_index_builds(source: str) -> list[str]:
    """The indexes that upgrade() builds on a table it did not create, without
    postgresql_concurrently=True inside an autocommit block: each one would lock its table."""
    tree = ast.parse(source)
    [upgrade] = [node for node in tree.body
                 if isinstance(node, ast.FunctionDef) and node.name == "upgrade"]
    parents = {child: parent for parent in ast.walk(upgrade)
               for child in ast.iter_child_nodes(parent)}
    calls = [node for node in ast.walk(upgrade) if isinstance(node, ast.Call)]
    created = {ast.literal_eval(call.args[0]) for call in calls if _op_call(call, "create_table")}
    found = []
    for call in calls:
        if not _op_call(call, "create_index"):
            continue
        index, table = ast.literal_eval(call.args[0]), ast.literal_eval(call.args[1])
        if table in created:
            continue
        concurrently = any(keyword.arg == "postgresql_concurrently"
                           and ast.literal_eval(keyword.value) is True
                           for keyword in call.keywords)
        if not (concurrently and _in_autocommit_block(call, parents)):
            found.append(f"{index} on {table}")
    return found


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda path: path.stem)
def test_indexes_on_existing_tables_are_built_concurrently(path: Path):
    # Given a migration, when its upgrade builds indexes, then none blocks a table with rows.
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
    # Given an upgrade with a new table's index, a plain build, a concurrent build left inside
    # the transaction (Postgres refuses it there) and a proper one,
    # when it is scanned, then exactly the two existing-table builds outside a block are named.
    assert blocking_index_builds(PLAIN) == ["ix_transfers_x on transfers",
                                            "ix_transfers_y on transfers"]
