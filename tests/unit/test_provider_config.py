"""The provider file: format, ${VAR} expansion, and one clear message for every mistake."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from worker.providers.config import ConfigError, load_providers, parse_duration

GOOD = """
[providers.s-main]
kind = "scripted"
base_url = "https://api.example.test/"
timeout_s = 4
[providers.s-main.policy]
initial_delay = "10s"
schedule = ["10s", "30s", "1m", "2m", "1h30m"]
max_age = "72h"
not_found_grace = "5m"
not_found_confirmations = 3
concurrency = 8
rate_limit_per_s = 2.5
"""


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "providers.toml"
    path.write_text(content)
    return path


def test_a_good_file_gives_typed_instances(tmp_path):
    # when
    instance = load_providers(write(tmp_path, GOOD))["s-main"]
    # then
    assert instance.base_url == "https://api.example.test"
    assert instance.timeout_s == 4.0
    assert instance.policy.schedule[-1] == timedelta(hours=1, minutes=30)
    assert instance.policy.max_age == timedelta(hours=72)
    assert instance.policy.not_found_confirmations == 3
    assert instance.policy.rate_limit_per_s == 2.5


@pytest.mark.parametrize(("text", "seconds"), [
    ("10s", 10), ("1m", 60), ("72h", 259200), ("1h30m", 5400), ("250ms", 0.25), ("2d", 172800),
])
def test_durations(text, seconds):
    # when / then
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["10", "ten seconds", "", "5x", "1m five", 10])
def test_bad_durations(text):
    # when / then
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("mutation", "where"), [
    (('kind = "scripted"', 'kind = "nope"'), "providers.s-main.kind: unknown kind 'nope'"),
    (('max_age = "72h"', 'max_age = "72 hours"'), "providers.s-main.policy.max_age"),
    (('concurrency = 8', 'concurrency = "many"'), "providers.s-main.policy.concurrency"),
    (('timeout_s = 4', 'timeout_s = -1'), "providers.s-main.timeout_s"),
    (('base_url = "https://api.example.test/"', 'base_url = "ftp://x"'),
     "providers.s-main.base_url"),
    (('concurrency = 8', 'concurency = 8'), "providers.s-main.policy.concurency: unknown key"),
    (('timeout_s = 4', 'currencies = ["usdß"]'), "providers.s-main.currencies: 'usdß'"),
    (('timeout_s = 4', 'currencies = []'), "providers.s-main.currencies"),
    (('timeout_s = 4', 'deadline_s = 0'), "providers.s-main.deadline_s"),
    (('timeout_s = 4', 'deadline_s = inf'), "providers.s-main.deadline_s"),
    (('timeout_s = 4', 'allow_insecure_http = "yes"'), "providers.s-main.allow_insecure_http"),
    (('schedule = ["10s", "30s", "1m", "2m", "1h30m"]', 'schedule = []'),
     "providers.s-main.policy.schedule"),
])
def test_every_mistake_names_file_instance_and_field(tmp_path, mutation, where):
    # given
    path = write(tmp_path, GOOD.replace(*mutation))
    # when
    with pytest.raises(ConfigError) as error:
        load_providers(path)
    # then
    assert str(error.value).startswith(f"{path}: ")
    assert where in str(error.value)


def test_an_unset_variable_is_named(tmp_path, monkeypatch):
    # given
    monkeypatch.delenv("RESOLVER_TEST_UNSET", raising=False)
    path = write(tmp_path, GOOD.replace('"https://api.example.test/"',
                                        '"https://${RESOLVER_TEST_UNSET}/"'))
    # when / then
    with pytest.raises(ConfigError, match=r"providers\.s-main\.base_url: environment variable "
                                          r"RESOLVER_TEST_UNSET is not set"):
        load_providers(path)


def test_variables_are_read_from_the_environment(tmp_path, monkeypatch):
    # given
    monkeypatch.setenv("RESOLVER_TEST_HOST", "sim.local:8099")
    path = write(tmp_path, GOOD.replace('"https://api.example.test/"',
                                        '"http://${RESOLVER_TEST_HOST}"\n'
                                        'allow_insecure_http = true'))
    # when / then
    assert load_providers(path)["s-main"].base_url == "http://sim.local:8099"


def test_plain_http_is_refused_unless_the_instance_allows_it(tmp_path):
    # given a base URL without TLS (HRG's Basic header would carry the API key in clear)
    plain = GOOD.replace('"https://api.example.test/"', '"http://api.example.test/"')
    # when / then loaded as it is, start-up stops naming the field and the way out
    with pytest.raises(ConfigError, match=r"providers\.s-main\.base_url: plain http:// .*"
                                          r"allow_insecure_http = true"):
        load_providers(write(tmp_path, plain))
    # given the instance allows it
    allowed = plain.replace('timeout_s = 4', 'timeout_s = 4\nallow_insecure_http = true')
    # when / then it loads
    assert load_providers(write(tmp_path, allowed))["s-main"].allow_insecure_http is True


def test_currencies_and_deadline_are_read(tmp_path):
    # given an instance that deals in two currencies and has a 12 s deadline per query
    text = GOOD.replace('timeout_s = 4', 'timeout_s = 4\ndeadline_s = 12\n'
                                         'currencies = ["eur", "USDT"]')
    # when
    instance = load_providers(write(tmp_path, text))["s-main"]
    # then the codes are upper case and the deadline is a float
    assert instance.currencies == frozenset({"EUR", "USDT"})
    assert instance.deadline_s == 12.0
    # when they are left out
    default = load_providers(write(tmp_path, GOOD))["s-main"]
    # then any currency goes and the deadline has its default
    assert default.currencies is None and default.deadline_s == 30.0


def test_missing_and_broken_files(tmp_path):
    # when / then
    with pytest.raises(ConfigError, match="provider file not found"):
        load_providers(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_providers(write(tmp_path, "[providers\n"))
    with pytest.raises(ConfigError, match=r"no \[providers.NAME\] table"):
        load_providers(write(tmp_path, "title = 'x'\n"))
