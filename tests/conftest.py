"""Shared fixtures.

Integration tests each get their own database, cloned from a template that Alembic migrated
once per run (so the migrations are what every test runs on), and dropped afterwards. Redis
tests use a database number of their own, emptied before each test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

# Before anything imports the settings: tests keep to their own Redis database.
os.environ.setdefault("RESOLVER_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("RESOLVER_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")

import pytest
import redis
from sqlalchemy import Engine, create_engine, text

from worker.domain.policy import Policy
from worker.process import migrate
from worker.process.runtime import Runtime, build_runtime, use_runtime
from worker.process.settings import Settings
from worker.providers.instance import ProviderInstance
from worker.providers.scripted import SCRIPTS
from worker.providers.scripted import Settings as ScriptedSettings

SERVER = os.environ["RESOLVER_PG_URL"]
TEMPLATE = f"resolver_test_template_{os.getpid()}"


def _admin() -> Engine:
    return create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def template_database() -> Iterator[str]:
    admin = _admin()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE}"'))
        connection.execute(text(f'CREATE DATABASE "{TEMPLATE}"'))
    migrate.upgrade(f"{SERVER}/{TEMPLATE}")
    yield TEMPLATE
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(template_database: str) -> Iterator[str]:
    name = f"resolver_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield f"{SERVER}/{name}"
    from worker.process.db import engine_for

    engine_for(f"{SERVER}/{name}").dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Engine:
    from worker.process.db import engine_for

    return engine_for(database_url)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(os.environ["RESOLVER_REDIS_URL"])
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


FAST_POLICY = Policy(
    initial_delay=timedelta(0),
    schedule=(timedelta(milliseconds=100),),
    max_age=timedelta(hours=1),
    not_found_grace=timedelta(seconds=1),
    not_found_confirmations=2,
    jitter=0.0,
    rate_limited_delay=timedelta(milliseconds=100),
    rate_limit_per_s=1000,
)


# Manual resolutions of test amounts (10.00) need no second operator unless a test says so.
FOUR_EYES_FROM = (("EUR", Decimal("1000.0000")), ("USD", Decimal("1000.0000")))


def scripted_instance(name: str = "scripted-a", policy: Policy = FAST_POLICY) -> ProviderInstance:
    return ProviderInstance(name=name, kind="scripted", base_url="http://scripted.invalid",
                            settings=ScriptedSettings(), policy=policy,
                            four_eyes_from=FOUR_EYES_FROM)


@pytest.fixture
def providers() -> dict[str, ProviderInstance]:
    return {"scripted-a": scripted_instance()}


@pytest.fixture
def runtime(database_url: str, redis_client: redis.Redis,
            providers: dict[str, ProviderInstance]) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, redis_url=os.environ["RESOLVER_REDIS_URL"],
                        events_stream=f"test:events:{uuid.uuid4().hex[:8]}", lease_s=5)
    installed = build_runtime(settings, providers)
    use_runtime(installed)
    SCRIPTS.clear()
    yield installed
    use_runtime(None)
    SCRIPTS.clear()


def unreachable_redis() -> redis.Redis:
    """A client for a Redis that is down, which gives up at once instead of retrying."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
