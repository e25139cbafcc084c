"""The webhooks file: subscribers, ${VAR} secrets, one clear message per mistake."""

from __future__ import annotations

import pytest

from worker.providers.config import ConfigError
from worker.webhooks.config import EVENT_TYPES, load_subscribers, parse_subscribers


def test_a_subscriber_with_its_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("FIN_SECRET", "s3cr3t-value")
    subscribers = parse_subscribers({"subscribers": {"finance": {
        "url": "https://finance.example/hooks", "secret": "${FIN_SECRET}",
        "types": ["transfer.resolved"], "timeout_s": 5}}}, "hooks.toml")
    finance = subscribers["finance"]
    assert finance.secret == "s3cr3t-value"
    assert finance.types == {"transfer.resolved"}
    assert (finance.timeout_s, finance.connect_timeout_s) == (5.0, 3.0)
    assert "s3cr3t" not in repr(finance) and "secret" not in finance.describe()


def test_types_default_to_every_event_type():
    [subscriber] = parse_subscribers({"subscribers": {"all": {
        "url": "http://127.0.0.1:9/x", "secret": "k"}}}, "f").values()
    assert subscriber.types == EVENT_TYPES


@pytest.mark.parametrize("table, message", [
    ({"secret": "k"}, "subscribers.x.url: must be an http:// or https:// URL"),
    ({"url": "ftp://h/x", "secret": "k"}, "subscribers.x.url"),
    ({"url": "http://h/x"}, "subscribers.x.secret: must be a non-empty string"),
    ({"url": "http://h/x", "secret": "k", "types": ["transfer.done"]},
     "subscribers.x.types: unknown event type 'transfer.done'"),
    ({"url": "http://h/x", "secret": "k", "types": []}, "subscribers.x.types"),
    ({"url": "http://h/x", "secret": "k", "timeout_s": 0}, "subscribers.x.timeout_s"),
    ({"url": "http://h/x", "secret": "k", "retries": 3}, "subscribers.x.retries: unknown key"),
    ({"url": "http://h/x", "secret": "${NOT_SET_ANYWHERE_42}"},
     "subscribers.x.secret: environment variable NOT_SET_ANYWHERE_42 is not set"),
])
def test_each_mistake_names_the_subscriber_and_field(table, message):
    with pytest.raises(ConfigError, match=r"^hooks\.toml: ") as raised:
        parse_subscribers({"subscribers": {"x": table}}, "hooks.toml")
    assert message in str(raised.value)


def test_bad_names_and_top_level_keys_are_refused():
    with pytest.raises(ConfigError, match="lower case"):
        parse_subscribers({"subscribers": {"Bad Name": {}}}, "f")
    with pytest.raises(ConfigError, match="unknown top-level key 'providers'"):
        parse_subscribers({"providers": {}}, "f")


def test_no_file_means_no_subscribers_and_a_missing_file_is_an_error(tmp_path):
    assert load_subscribers(None) == {}
    with pytest.raises(ConfigError, match="webhooks file not found"):
        load_subscribers(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[subscribers.x\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_subscribers(broken)


def test_the_example_file_loads(monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("RESOLVER_WEBHOOK_SECRET", "example")
    example = Path(__file__).resolve().parents[3] / "examples" / "webhooks.toml"
    assert list(load_subscribers(example)) == ["example"]
