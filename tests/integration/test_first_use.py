"""What a person meets first: the demo's `.demo/env`, readers that need no provider secrets,
`--version`, the waiting `events tail`, webhook deliveries counted right."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import create_engine, text

from resolver_tools.demo import run as demo
from tests.integration.events.receivers import scripted_receiver
from tests.integration.events.support import outbox, settle
from tests.integration.support import one_vct_instance, register
from worker.cli import main
from worker.domain.types import Outcome
from worker.process.runtime import build_runtime, use_runtime
from worker.process.settings import get_settings

pytestmark = pytest.mark.integration

PROVIDERS = one_vct_instance("FIRST_USE_VCT_SECRET")


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def fresh_settings():
    """Commands here build their runtime from the environment, as a shell would."""
    use_runtime(None)
    get_settings.cache_clear()
    yield
    use_runtime(None)
    get_settings.cache_clear()


@pytest.fixture
def secretless(runtime, tmp_path, monkeypatch, fresh_settings):
    """The test database, with a providers file whose secret variable is not set."""
    settle(runtime, {"tx-done": Outcome.SUCCEEDED})
    waiting = register(runtime, tx_id="tx-waiting")
    providers = tmp_path / "providers.toml"
    providers.write_text(PROVIDERS)
    monkeypatch.setenv("RESOLVER_PROVIDERS_FILE", str(providers))
    monkeypatch.setenv("RESOLVER_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.delenv("FIRST_USE_VCT_SECRET", raising=False)
    use_runtime(None)
    return waiting


def test_readers_work_without_the_provider_secrets(secretless):
    # given a providers file naming ${FIRST_USE_VCT_SECRET}, which is not set
    # when / then each command that only reads the database works
    code, listed = invoke("pending", "--json")
    assert code == 0, listed
    assert [t["id"] for t in json.loads(listed)["items"]] == [secretless]
    assert invoke("pending", "--provider", "vct-main")[0] == 0
    code, history = invoke("show", str(secretless))
    assert code == 0 and "tx-waiting" in history, history
    code, replayed = invoke("events", "replay")
    assert code == 0 and "transfer.resolved" in replayed, replayed
    assert invoke("webhooks", "list")[0] == 0
    assert invoke("stats")[0] == 0
    # when / then `providers` says which variable is missing
    code, described = invoke("providers", "--json")
    assert code == 0, described
    assert json.loads(described)[0]["unset_variables"] == ["FIRST_USE_VCT_SECRET"]
    assert "(unset: FIRST_USE_VCT_SECRET)" in invoke("providers")[1]


def test_asking_a_provider_without_its_secret_is_refused_naming_the_variable(secretless):
    # when
    code, output = invoke("probe", "--provider", "vct-main", "--tx-id", "t-1", "--direction",
                          "deposit", "--player-id", "p-1", "--amount", "1", "--currency", "USD")
    # then
    assert code == 2
    assert "FIRST_USE_VCT_SECRET" in output and "is not set" in output


def test_the_engine_still_refuses_to_start_without_the_secret(secretless):
    # The worker builds its runtime strictly: the first provider call can never go unsigned.
    from worker.process.config_files import ConfigError

    # when / then the strict runtime refuses
    with pytest.raises(ConfigError, match="FIRST_USE_VCT_SECRET is not set"):
        build_runtime()

    # when / then a lenient one builds but refuses the first call
    lenient = build_runtime(secrets_required=False)
    with pytest.raises(ConfigError, match="FIRST_USE_VCT_SECRET is not set"):
        lenient.adapter_for(lenient.providers["vct-main"])


@pytest.fixture
def demo_setup(tmp_path, fresh_settings):
    """The demo's setup step, on a database of its own and this run's Redis database."""
    database = f"resolver_demo_test_{uuid.uuid4().hex[:8]}"
    redis_db = int(os.environ["RESOLVER_REDIS_URL"].rsplit("/", 1)[1])
    console = Console(record=True, width=200)
    made = demo.setup(console, 0, 0, work=tmp_path / ".demo", database=database,
                      redis_db=redis_db)
    yield made, console.export_text()
    admin = create_engine(made.variables["RESOLVER_DATABASE_URL"].rsplit("/", 1)[0]
                          + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()
    redis.Redis.from_url(os.environ["RESOLVER_REDIS_URL"]).flushdb()


def test_the_demo_writes_an_env_file_that_makes_the_cli_work(demo_setup, tmp_path):
    # given the demo's setup step has run
    made, printed = demo_setup
    env_file = made.work / "env"
    # then it is the owner's only, and the demo said how to use it
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert ". .demo/env" in printed or f". {env_file}" in printed
    # and it names every ${VAR} of the providers file, the stores and the admin token
    written = env_file.read_text()
    providers = (made.work / "providers.toml").read_text()
    for variable in [*demo.scenario.environment(), "RESOLVER_DATABASE_URL",
                     "RESOLVER_REDIS_URL", "RESOLVER_PROVIDERS_FILE", "RESOLVER_ADMIN_TOKEN"]:
        assert f"export {variable}=" in written
    for variable in demo.scenario.environment():
        assert "${" + variable + "}" in providers

    # when a shell with none of those variables sources it and runs the CLI
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("RESOLVER_", "DEMO_"))}
    clean["PATH"] = f"{Path(sys.executable).parent}:{clean.get('PATH', '')}"
    shell = subprocess.run(
        ["bash", "-c", ". .demo/env && resolver pending && resolver providers --json"],
        cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60)
    # then `pending` works, and every instance has its secrets
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.startswith("nothing is pending")
    described = json.loads(shell.stdout.split("\n", 1)[1])
    assert {d["name"] for d in described} == {i.name for i in demo.scenario.instances()}
    assert all(d["unset_variables"] == [] for d in described)


def test_version_prints_the_package_version():
    from importlib.metadata import version

    # when
    code, output = invoke("--version")
    # then
    assert code == 0 and output.strip() == f"resolver, version {version('transfer-resolver')}"


def test_tail_says_it_is_waiting(runtime):
    # In a process: tail blocks until an event or a signal, so it is stopped from outside.
    # given
    env = {**os.environ, "RESOLVER_DATABASE_URL": runtime.settings.database_url}
    # when the tail starts
    process = subprocess.Popen([sys.executable, "-m", "worker.cli", "events", "tail",
                                "--stream", f"first-use:{uuid.uuid4().hex[:8]}"],
                               env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
    finally:
        process.terminate()
        process.wait(timeout=10)
    # then
    assert first.startswith("waiting for events on first-use:") and "Ctrl-C" in first


def test_deliveries_counts_every_post_of_a_delivery(runtime, tmp_path, monkeypatch):
    # given a delivery that failed three times, was redelivered and then went through
    settle(runtime, {"a": Outcome.SUCCEEDED})
    [event] = outbox(runtime)
    monkeypatch.setenv("FIRST_USE_HOOK_SECRET", "whsec_" + "Zmlyc3QtdXNlLXNlY3JldC0yNC1ieXRlcyEh")
    hooks = tmp_path / "webhooks.toml"
    with scripted_receiver([500, 500, 500], then=200) as receiver:
        hooks.write_text(f'[subscribers.finance]\nurl = "{receiver.url}"\n'
                         f'secret = "${{FIRST_USE_HOOK_SECRET}}"\n'
                         f'types = ["transfer.resolved"]\ntimeout_s = 2\n')
        settings = runtime.settings.model_copy(update={"webhooks_file": str(hooks),
                                                       "webhook_schedule": "20ms,20ms"})
        use_runtime(dataclasses.replace(runtime, settings=settings))
        for _ in range(3):
            assert invoke("webhooks", "deliver")[0] == 0
            time.sleep(0.05)
        assert invoke("webhooks", "redeliver", str(event.id))[0] == 0
        assert invoke("webhooks", "deliver")[0] == 0
    # when the deliveries are listed
    code, listed = invoke("webhooks", "deliveries", "--json")
    # then the one delivery counts its four POSTs (not the schedule step it was reset to)
    assert code == 0, listed
    [row] = json.loads(listed)
    assert (row["status"], row["attempts"], row["schedule_step"]) == ("delivered", 4, 0)
    assert "attempts=4" in invoke("webhooks", "deliveries")[1]


def test_deliveries_says_when_there_are_none(runtime):
    # when / then
    assert invoke("webhooks", "deliveries")[1].strip() == "no webhook deliveries"
    assert invoke("webhooks", "deliveries", "--status", "failed")[1].strip() == (
        "no failed webhook deliveries")
