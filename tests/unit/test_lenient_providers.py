"""A providers file read without its secrets: names and policies load, provider calls refuse."""

from __future__ import annotations

import pytest

from worker.process.config_files import ConfigError
from worker.providers.config import parse_providers
from worker.providers.registry import adapter_for

DOCUMENT = {"providers": {"naga-main": {
    "kind": "naga", "base_url": "https://naga.example.test",
    "credentials": {"brand_code": "b", "group_code": "g",
                    "secret_key": "${LENIENT_TEST_NAGA_SECRET}"},
    "policy": {"max_age": "2h"},
}}}


def test_strict_reading_names_the_unset_variable(monkeypatch):
    # given
    monkeypatch.delenv("LENIENT_TEST_NAGA_SECRET", raising=False)
    # when / then
    with pytest.raises(ConfigError, match="secret_key: environment variable "
                                          "LENIENT_TEST_NAGA_SECRET is not set"):
        parse_providers(DOCUMENT, "providers.toml")


def test_lenient_reading_keeps_the_instance_and_notes_the_variable(monkeypatch):
    # given
    monkeypatch.delenv("LENIENT_TEST_NAGA_SECRET", raising=False)
    # when
    instance = parse_providers(DOCUMENT, "providers.toml", secrets_required=False)["naga-main"]
    # then
    assert instance.unset_variables == ("LENIENT_TEST_NAGA_SECRET",)
    assert instance.policy.max_age.total_seconds() == 7200
    assert instance.secret_values() == []  # nothing pretends to be a secret
    with pytest.raises(ConfigError, match="naga-main: environment variable "
                                          "LENIENT_TEST_NAGA_SECRET is not set"):
        adapter_for(instance)


def test_lenient_reading_with_the_variable_set_is_the_strict_one(monkeypatch):
    # given
    monkeypatch.setenv("LENIENT_TEST_NAGA_SECRET", "s3cret-value")
    # when
    instance = parse_providers(DOCUMENT, "providers.toml", secrets_required=False)["naga-main"]
    # then
    assert instance == parse_providers(DOCUMENT, "providers.toml")["naga-main"]
    assert instance.secret_values() == ["s3cret-value"]
    adapter_for(instance)  # no refusal


def test_other_mistakes_still_stop_a_lenient_reading(monkeypatch):
    # given
    monkeypatch.delenv("LENIENT_TEST_NAGA_SECRET", raising=False)
    wrong = {"providers": {"naga-main": {**DOCUMENT["providers"]["naga-main"], "kind": "ngaa"}}}
    # when / then
    with pytest.raises(ConfigError, match="unknown kind"):
        parse_providers(wrong, "providers.toml", secrets_required=False)
