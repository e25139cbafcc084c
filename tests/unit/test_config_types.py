"""The value types the TOML files share (a duration, a timeout) and how a table's model turns
its first mistake into one message naming the file, the table and the field."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, PlainValidator

from worker.process.config_files import ConfigError, NamedPlace, named_table, validated
from worker.process.config_types import Duration, Timeout, parse_duration
from worker.providers.config import parse_providers
from worker.webhooks.config import parse_subscribers

SECRET = "whsec_" + "a2V5LW9mLXRoZS1jb25maWctdGVzdHMtLTI0Ynl0ZXM="


def _named(value: object) -> str:
    if value != "ok":
        raise NamedPlace("limits.EUR", "is not ok")
    return "ok"


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wait: Duration = timedelta(seconds=10)
    timeout_s: Timeout = 10.0
    token: str = ""
    limits: Annotated[str, PlainValidator(_named)] = "ok"


def read(table: dict[str, object]) -> Table:
    checked, fail = named_table("f.toml", "things", "one", table)
    return validated(Table, checked, fail)


@pytest.mark.parametrize(("text", "seconds"), [
    ("250ms", 0.25), ("10s", 10), ("5m", 300), ("72h", 259200), ("1h30m", 5400), ("2d", 172800),
])
def test_a_duration_field_reads_what_parse_duration_reads(text, seconds):
    # given a duration as the files write it
    # when a model reads it
    table = read({"wait": text})
    # then it is the timedelta the one parser gives, the one admin filters use too
    assert table.wait == parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["10", "ten seconds", "", "5x", 10, True])
def test_a_wrong_duration_is_one_message_naming_the_field(value):
    # given a value that is no duration
    # when a model reads it
    with pytest.raises(ConfigError) as raised:
        read({"wait": value})
    # then the one message names the file, the table and the field, as parse_duration words it
    assert str(raised.value) == (f"f.toml: things.one.wait: {value!r} is not a duration "
                                 f"such as '10s', '5m' or '72h'")


@pytest.mark.parametrize(("value", "seconds"), [(4, 4.0), (2.5, 2.5), (0.001, 0.001)])
def test_a_timeout_is_positive_seconds_as_a_float(value, seconds):
    # given a timeout written as an integer or a decimal number
    # when a model reads it
    table = read({"timeout_s": value})
    # then it is a float of seconds
    assert table.timeout_s == seconds and isinstance(table.timeout_s, float)


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, True, "10", [1]])
def test_a_wrong_timeout_is_refused_with_the_same_words(value):
    # given a timeout that is not a positive, finite number
    # when a model reads it
    with pytest.raises(ConfigError) as raised:
        read({"timeout_s": value})
    # then the message is the one both files give
    assert str(raised.value) == "f.toml: things.one.timeout_s: must be a positive number of seconds"


def test_the_provider_and_webhook_files_refuse_a_timeout_alike():
    # given the same wrong timeout in a provider instance and in a webhook subscriber
    provider = {"kind": "scripted", "base_url": "https://api.example.test", "timeout_s": math.nan}
    subscriber = {"url": "https://h.example/x", "secret": SECRET, "timeout_s": math.nan}
    # when each file is read
    with pytest.raises(ConfigError) as from_providers:
        parse_providers({"providers": {"p": provider}}, "p.toml")
    with pytest.raises(ConfigError) as from_webhooks:
        parse_subscribers({"subscribers": {"s": subscriber}}, "w.toml")
    # then each names its own table and field with the same words
    assert str(from_providers.value) == \
        "p.toml: providers.p.timeout_s: must be a positive number of seconds"
    assert str(from_webhooks.value) == \
        "w.toml: subscribers.s.timeout_s: must be a positive number of seconds"


def test_an_unknown_key_comes_first_and_no_value_is_repeated():
    # given a table with two unknown keys, a wrong timeout and a token that may be a secret
    table = {"zeta": "s3cret-zeta", "alpha": "s3cret-alpha", "timeout_s": -1, "token": 5}
    # when it is read
    with pytest.raises(ConfigError) as raised:
        read(table)
    # then the first unknown key, alphabetically, is the one message, without its value
    assert str(raised.value) == "f.toml: things.one.alpha: unknown key"


def test_pydantic_s_own_refusal_keeps_its_words_but_never_the_value():
    # given a field of a plain pydantic type holding a value of the wrong type
    # when it is read
    with pytest.raises(ConfigError) as raised:
        read({"token": 123456789})
    # then pydantic's words name the field, and the value is not in them
    assert str(raised.value).startswith("f.toml: things.one.token: ")
    assert "123456789" not in str(raised.value)


def test_a_validator_may_name_a_key_below_its_field():
    # given a validator that refuses one key of the table it reads
    # when / then it refuses, naming that key in place of the field
    with pytest.raises(ConfigError, match=r"^f\.toml: things\.one\.limits\.EUR: is not ok$"):
        read({"limits": "no"})
