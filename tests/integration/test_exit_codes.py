"""One rule for exit statuses: 0 done, 1 an unexpected failure, 2 refused or bad usage.

The walk below visits every command of `resolver`; each must have a representative refusal
here, so a new command cannot join without showing that it refuses with 2.
"""

from __future__ import annotations

import dataclasses

import click
import pytest
from click.testing import CliRunner

from worker.cli import main
from worker.process.runtime import build_runtime, use_runtime
from worker.process.settings import get_settings

pytestmark = pytest.mark.integration

TRANSFER = ("--tx-id", "t-1", "--direction", "deposit", "--player-id", "p-1",
            "--currency", "USD")
UNKNOWN_EVENT = "00000000-0000-4000-8000-000000000000"

# command path -> (arguments of a refusal, a piece of what it must say)
REFUSALS: dict[str, tuple[tuple[str, ...], str]] = {
    "admin": ((), "no admin token"),
    "begin": (("--provider", "scripted-a", "--amount", "ten", *TRANSFER), "amount"),
    "bench": (("--contenders", "nobody"), "unknown contender"),
    "chaos": (("--transfers", "0"), "--transfers"),
    "complete": (("--provider", "scripted-a", "--tx-id", "never-begun", "--as", "failed"),
                 "never-begun"),
    "demo": (("--sim-port", "0"), "--sim-port"),
    "enqueue": (("--provider", "nobody", "--amount", "1", *TRANSFER), "nobody"),
    "events consume": (("--group", "g", "--handler", "no.such.module:handle"), "--handler"),
    "events replay": (("--after", "-1"), "--after"),
    "events tail": (("--count", "0"), "--count"),
    "health": (("--role", "nobody"), "--role"),
    "migrate": (("now",), "unexpected extra argument"),
    "pending": (("--provider", "nobody"), "configured: scripted-a"),
    "probe": (("--provider", "nobody", "--amount", "1", *TRANSFER), "unknown provider instance"),
    "proposals approve": (("999", "--by", "ann"), "no proposal"),
    "proposals list": (("--status", "lost"), "--status"),
    "proposals reject": (("999", "--by", "ann", "--reason", "no"), "no proposal"),
    "proposals show": (("999",), "no proposal"),
    "providers": (("--all",), "no such option"),
    "recheck": (("999",), "no transfer"),
    "resolve": (("999", "--as", "failed", "--reason", "checked", "--by", "ann"), "no transfer"),
    "review": (("--pending-older-than", "soon"), "pending_older_than"),
    "show": (("999",), "no transfer"),
    "sim": (("--merchants", "/nonexistent/merchants.toml"), "/nonexistent/merchants.toml"),
    "stats": (("--limit", "3"), "no such option"),
    "webhooks deliver": ((), "webhooks file not found"),
    "webhooks deliveries": (("--status", "lost"), "--status"),
    "webhooks list": ((), "webhooks file not found"),
    # (an unknown event with a good webhooks file: tests/integration/events/test_events_cli.py)
    "webhooks redeliver": ((UNKNOWN_EVENT,), "webhooks file not found"),
}


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
        else:
            found.append(" ".join((*prefix, name)))
    return found


def test_every_command_has_a_representative_refusal():
    # when / then
    assert sorted(REFUSALS) == commands(main)


@pytest.fixture
def refusing_rt(runtime, tmp_path, monkeypatch):
    """The test runtime with no admin token, a webhooks file that is missing, and a providers
    file (for `probe`, which reads it itself) with the test's one instance."""
    providers = tmp_path / "providers.toml"
    providers.write_text('[providers.scripted-a]\nkind = "scripted"\n'
                         'base_url = "http://scripted.invalid"\nallow_insecure_http = true\n')
    monkeypatch.setenv("RESOLVER_PROVIDERS_FILE", str(providers))
    get_settings.cache_clear()
    settings = runtime.settings.model_copy(update={
        "admin_token": None, "admin_tokens": None,
        "webhooks_file": str(tmp_path / "webhooks.toml")})
    use_runtime(dataclasses.replace(runtime, settings=settings))
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("path", sorted(REFUSALS))
def test_a_refusal_exits_2_with_a_message(refusing_rt, path):
    # given
    arguments, said = REFUSALS[path]
    # when
    result = CliRunner().invoke(main, [*path.split(), *arguments])
    # then
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert said.lower() in result.output.lower()


def test_version_and_help_exit_0():
    # when / then
    assert CliRunner().invoke(main, ["--version"]).exit_code == 0
    assert CliRunner().invoke(main, ["pending", "--help"]).exit_code == 0


@pytest.mark.parametrize(("database", "said"), [
    ("resolver_no_such_database", "cannot reach the database"),
    ("postgres", "run `resolver migrate`"),  # there, but without the schema
])
def test_a_store_out_of_reach_exits_1_with_one_line(runtime, database, said):
    # given
    server = runtime.settings.database_url.rsplit("/", 1)[0]
    settings = runtime.settings.model_copy(update={"database_url": f"{server}/{database}"})
    use_runtime(build_runtime(settings, runtime.providers))
    # when
    result = CliRunner().invoke(main, ["pending"])
    # then
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert result.output.startswith("resolver: ") and said in result.output
    assert len(result.output.strip().splitlines()) == 1
