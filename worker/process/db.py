"""Database engine and sessions. One engine and one session factory per process and URL.

No pre-ping: checking every connection before use costs a round trip per transaction on the
engine's hot path. A connection that died (Postgres restarted) fails the one transaction that
meets it, SQLAlchemy then discards the whole pool, and that work is simply done again: a check
batch's leases run out and are claimed anew, intake retries on OperationalError, an admin
request can be repeated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from worker.process.settings import get_settings


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    return create_engine(url, pool_size=10, max_overflow=20)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


@lru_cache(maxsize=8)
def _sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: everything inside commits together or not at all."""
    with _sessions(engine or get_engine())() as session, session.begin():
        yield session
