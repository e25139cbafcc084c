"""A downgrade that would drop tables holding rows refuses, unless the operator insists.

`alembic downgrade base` used to drop the ledger, the transfers and their audit without a word.
Every migration whose downgrade drops tables calls `refuse_dropping_rows(...)` first, naming
them all; with any of them holding rows it stops with the tables, their row counts and the way
to insist. Alembic runs the whole downgrade in one transaction (migrations/env.py), so a refusal
in a later step also undoes the steps before it: nothing changes.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

ALLOW_VARIABLE = "RESOLVER_ALLOW_DESTRUCTIVE_DOWNGRADE"


class DestructiveDowngrade(CommandError):
    """A CommandError, so the alembic command line prints the message alone, not a traceback."""


def refuse_dropping_rows(*tables: str) -> None:
    """Stop the downgrade when any of `tables` holds a row, unless ALLOW_VARIABLE is "1"."""
    if os.environ.get(ALLOW_VARIABLE) == "1":
        return
    if op.get_context().as_sql:
        # Writing SQL to run later (--sql): no database to count in, so no way to know.
        raise DestructiveDowngrade(
            f"this downgrade drops {', '.join(tables)}, whose rows cannot be counted when "
            f"writing SQL; set {ALLOW_VARIABLE}=1 to write it anyway"
        )
    holding = {name: rows for name in tables if (rows := _rows(name))}
    if holding:
        listed = ", ".join(f"{name} ({rows} row{'' if rows == 1 else 's'})"
                           for name, rows in holding.items())
        raise DestructiveDowngrade(
            f"refusing to downgrade: it would drop tables that hold rows: {listed}. Nothing "
            f"was changed. Set {ALLOW_VARIABLE}=1 to drop them and their rows anyway."
        )


def _rows(table: str) -> int:
    # An exact count: the message names it, and a downgrade is rare enough to afford the scan.
    query = sa.select(sa.func.count()).select_from(sa.table(table))
    return int(op.get_bind().execute(query).scalar_one())
