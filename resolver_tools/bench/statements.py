"""Counts the SQL statements a contender's process sends, into one Redis counter.

pg_stat_statements is not loaded on this server (it needs shared_preload_libraries and a
restart), so the count is taken where the statements start: a SQLAlchemy cursor event on every
engine of the process. Each process adds its count to the Redis key every few tenths of a
second; the run reads the key before and after, so start-up statements are left out. BEGIN,
COMMIT and the pool's pre-ping do not pass through a cursor event: transactions (commits and
rollbacks) are counted under a key of their own, pre-pings not at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from sqlalchemy import Engine, event

KEY = "bench:sql_statements"
TRANSACTIONS_KEY = "bench:sql_transactions"
FLUSH_S = 0.2


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.unflushed = 0

    def count(self, *_: object) -> None:
        with self.lock:
            self.unflushed += 1

    def take(self) -> int:
        with self.lock:
            taken, self.unflushed = self.unflushed, 0
        return taken


def install(redis_url: str) -> Callable[[], None]:
    """Count every statement of every engine in this process from now on; the function
    returned adds what is not yet added (a process that ends calls it last)."""
    executed, ended = _Counter(), _Counter()
    event.listen(Engine, "before_cursor_execute", executed.count)
    event.listen(Engine, "commit", ended.count)
    event.listen(Engine, "rollback", ended.count)
    client = redis.Redis.from_url(redis_url)

    def flush() -> None:
        for key, counter in ((KEY, executed), (TRANSACTIONS_KEY, ended)):
            taken = counter.take()
            if taken:
                client.incrby(key, taken)

    def keep_flushing() -> None:
        while True:
            time.sleep(FLUSH_S)
            flush()

    threading.Thread(target=keep_flushing, name="bench-sql-counter", daemon=True).start()
    return flush


def read(redis_url: str) -> tuple[int, int]:
    """(statements, transactions) counted so far."""
    values = redis.Redis.from_url(redis_url).mget([KEY, TRANSACTIONS_KEY])
    return int(values[0] or 0), int(values[1] or 0)
