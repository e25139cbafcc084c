"""`resolver health`: healthy when everything answers, and names each thing that does not.

The command is run as a container runs it: settings from the environment, no providers file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.conftest import unreachable_redis
from tests.integration.support import register
from worker.cli import main
from worker.engine.intake import service
from worker.process import health, heartbeat
from worker.process.db import transaction
from worker.process.settings import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def environment(runtime, monkeypatch, tmp_path):
    """The test's database and Redis, and a providers file that does not exist."""
    monkeypatch.setenv("RESOLVER_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("RESOLVER_REDIS_URL", runtime.settings.redis_url)
    monkeypatch.setenv("RESOLVER_PROVIDERS_FILE", str(tmp_path / "missing.toml"))
    get_settings.cache_clear()
    yield runtime
    get_settings.cache_clear()


def health_of(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["health", "--json", *args])
    return result.exit_code, json.loads(result.output)


def checks(body: dict) -> dict[str, bool]:
    return {check["name"]: check["ok"] for check in body["checks"]}


def swept(runtime, seconds_ago: float) -> None:
    heartbeat.beat(runtime.redis, heartbeat.SWEEP,
                   datetime.now(UTC) - timedelta(seconds=seconds_ago))


def unpublished_event(runtime, age: timedelta) -> None:
    register(runtime)
    service.complete(runtime, "scripted-a", "tx-1", "succeeded", by="wallet")
    with transaction(runtime.engine) as session:
        session.execute(text("UPDATE outbox_events SET created_at = now() - :age"), {"age": age})


def test_healthy_without_any_provider_configured(environment):
    # given
    swept(environment, 2)
    # when
    code, body = health_of()
    # then
    assert code == 0
    assert body["healthy"] is True
    assert checks(body) == {"postgres": True, "redis": True, "sweep": True, "outbox": True}

    # when the plain output is asked for
    result = CliRunner().invoke(main, ["health"])
    # then
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "healthy (role all)"


def test_a_stale_sweep_fails_beat_but_not_worker(environment):
    # given
    swept(environment, 45)
    # when
    code, body = health_of("--role", "beat")
    # then
    assert code == 1
    assert checks(body) == {"redis": True, "sweep": False, "outbox": True}
    [sweep] = [check for check in body["checks"] if check["name"] == "sweep"]
    assert "limit 30 s" in sweep["detail"]
    # when / then a longer allowed age passes
    assert health_of("--role", "beat", "--sweep-max-age", "60")[0] == 0
    # when / then a worker is not to blame for beat's silence
    assert health_of("--role", "worker") == (0, {"healthy": True, "role": "worker", "checks": [
        {"name": "postgres", "ok": True, "detail": "reachable"},
        {"name": "redis", "ok": True, "detail": "reachable"}]})


def test_no_sweep_at_all_is_unhealthy_and_the_output_says_what_failed(environment):
    # when
    result = CliRunner().invoke(main, ["health", "--role", "beat"])
    # then
    assert result.exit_code == 1
    assert "FAIL  sweep     no sweep ran in the last hour" in result.output
    assert result.output.splitlines()[-1] == "unhealthy: sweep (role beat)"


def test_an_old_unpublished_event_fails_the_outbox_check(environment):
    # given
    swept(environment, 1)
    unpublished_event(environment, timedelta(minutes=5))
    # when
    code, body = health_of()
    # then
    assert code == 1
    assert checks(body) == {"postgres": True, "redis": True, "sweep": True, "outbox": False}
    [outbox] = [check for check in body["checks"] if check["name"] == "outbox"]
    assert outbox["detail"].startswith("1 events unpublished, the oldest for 3")
    # when / then a longer allowed age passes
    assert health_of("--outbox-max-age", "600")[0] == 0


def test_a_fresh_unpublished_event_is_no_failure(environment):
    # given
    swept(environment, 1)
    unpublished_event(environment, timedelta(seconds=2))
    # when
    code, body = health_of()
    # then
    assert (code, checks(body)["outbox"]) == (0, True)


def test_redis_down_fails_redis_and_what_depends_on_it(runtime):
    # when
    report = health.run(runtime.engine, unreachable_redis(), "all")
    # then
    assert not report.healthy
    assert report.failed == ["redis", "sweep"]
    assert report.checks[2].detail == "not known: Redis is unreachable"
    assert report.checks[1].detail.startswith("unreachable: ")


def test_redis_down_from_the_command_line(environment, monkeypatch):
    # given
    monkeypatch.setenv("RESOLVER_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    # when
    code, body = health_of("--role", "worker", "--timeout", "0.5")
    # then
    assert code == 1
    assert checks(body) == {"postgres": True, "redis": False}


def test_postgres_down_fails_postgres_and_the_outbox(environment, monkeypatch):
    # given
    swept(environment, 1)
    monkeypatch.setenv("RESOLVER_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    get_settings.cache_clear()
    # when
    code, body = health_of("--timeout", "1")
    # then
    assert code == 1
    assert checks(body) == {"postgres": False, "redis": True, "sweep": True, "outbox": False}
