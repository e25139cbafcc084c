"""A downstream service's own store (SQLite here): the effect of each event, exactly once.

The event id is the primary key of `handled`, written in the same transaction as the effect.
However often an event arrives (stream redelivery, a replay overlapping the stream, a webhook
retry), the second time the insert conflicts and nothing else happens. `checkpoint` is the
highest outbox seq handled: where a replay starts after Redis lost the stream.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (event_id TEXT PRIMARY KEY, seq INTEGER, type TEXT);
CREATE TABLE IF NOT EXISTS settled (
    transfer_id INTEGER PRIMARY KEY, outcome TEXT, amount TEXT, currency TEXT
);
"""


class BalanceStore:
    def __init__(self, path: str = ":memory:") -> None:
        # One connection shared by the consumer's thread; SQLite serializes the writes.
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.executescript(SCHEMA)

    def apply(self, seq: int, event: dict[str, Any]) -> bool:
        """Apply one CloudEvent; False if it was applied before."""
        data = event["data"]
        with self.transaction():
            inserted = self.db.execute(
                "INSERT INTO handled (event_id, seq, type) VALUES (?, ?, ?) "
                "ON CONFLICT (event_id) DO NOTHING", (event["id"], seq, event["type"]),
            ).rowcount
            if not inserted:
                return False
            if event["type"] in ("transfer.resolved", "transfer.manually_resolved"):
                # Money arrives as a string with four decimals; keep it exact.
                amount = Decimal(data["amount"])
                self.db.execute(
                    "INSERT INTO settled VALUES (?, ?, ?, ?)",
                    (data["transfer_id"], data["outcome"], str(amount), data["currency"]),
                )
            return True

    def checkpoint(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(seq), 0) FROM handled").fetchone()[0])

    def transaction(self) -> Any:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, error_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if error_type else "COMMIT")
