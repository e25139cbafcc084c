"""Operating commands: the provider list hides secrets; a wrong provider file stops start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.integration.support import one_vct_instance
from worker.cli import main
from worker.process.settings import get_settings

pytestmark = pytest.mark.integration

PROVIDERS = one_vct_instance("TEST_VCT_SECRET")


@pytest.fixture
def providers_file(tmp_path, monkeypatch):
    path = tmp_path / "providers.toml"
    path.write_text(PROVIDERS)
    monkeypatch.setenv("RESOLVER_PROVIDERS_FILE", str(path))
    monkeypatch.setenv("TEST_VCT_SECRET", "very-secret-value-42")
    get_settings.cache_clear()
    from worker.process.runtime import use_runtime
    use_runtime(None)
    yield path
    use_runtime(None)
    get_settings.cache_clear()


@pytest.mark.parametrize("as_json", [False, True])
def test_providers_lists_instances_with_secrets_masked(providers_file, as_json):
    # when
    result = CliRunner().invoke(main, ["providers", *(["--json"] if as_json else [])])
    # then
    assert result.exit_code == 0, result.output
    assert "very-secret-value-42" not in result.output
    assert "vct-main" in result.output
    if as_json:
        [instance] = json.loads(result.output)
        assert instance["credentials"]["api_secret"] == "********"
        assert instance["credentials"]["api_key"] == "public-key-id"


def test_a_wrong_provider_file_stops_the_worker_with_one_message(tmp_path):
    # given
    bad = tmp_path / "providers.toml"
    bad.write_text(PROVIDERS.replace('kind = "vct"', 'kind = "vtc"'))
    env = {**os.environ, "RESOLVER_PROVIDERS_FILE": str(bad), "TEST_VCT_SECRET": "x" * 12}
    # when
    started = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel=WARNING"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    # then
    assert started.returncode != 0
    assert f"{bad}: providers.vct-main.kind: unknown kind 'vtc'" in started.stderr


def test_a_wrong_webhooks_file_stops_beat_with_one_message(tmp_path, providers_file):
    # given
    hooks = tmp_path / "webhooks.toml"
    hooks.write_text('[subscribers.finance]\nurl = "not a url"\nsecret = "s" \n')
    env = {**os.environ, "RESOLVER_WEBHOOKS_FILE": str(hooks)}
    # when
    started = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "beat", "--loglevel=WARNING",
         "--schedule", str(tmp_path / "beat-schedule")],
        env=env, capture_output=True, text=True, timeout=60,
    )
    # then
    assert started.returncode != 0
    assert f"{hooks}: subscribers.finance" in started.stderr
