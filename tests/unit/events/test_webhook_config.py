"""The webhooks file: subscribers, ${VAR} secrets, one clear message per mistake."""

from __future__ import annotations

import pytest

from worker.providers.config import ConfigError
from worker.webhooks.config import EVENT_TYPES, load_subscribers, parse_subscribers

K = "whsec_" + "a2V5LW9mLXRoZS1jb25maWctdGVzdHMtLTI0Ynl0ZXM="  # 32 bytes
OLD = "whsec_" + "b2xkLWtleS1vZi10aGUtY29uZmlnLXRlc3RzLS0yNA=="  # 31 bytes


def test_a_subscriber_with_its_secret_from_the_environment(monkeypatch):
    # given
    monkeypatch.setenv("FIN_SECRET", K)
    # when
    subscribers = parse_subscribers({"subscribers": {"finance": {
        "url": "https://finance.example/hooks", "secret": "${FIN_SECRET}",
        "types": ["transfer.resolved"], "timeout_s": 5}}}, "hooks.toml")
    # then
    finance = subscribers["finance"]
    assert finance.secret == K and finance.signing_secrets() == [K]
    assert finance.types == {"transfer.resolved"}
    assert (finance.timeout_s, finance.connect_timeout_s) == (5.0, 3.0)
    assert K[8:] not in repr(finance) and "secret" not in finance.describe()
    assert finance.describe()["rotating"] is False


def test_types_default_to_every_event_type():
    # when
    [subscriber] = parse_subscribers({"subscribers": {"all": {
        "url": "http://127.0.0.1:9/x", "secret": K}}}, "f").values()
    # then
    assert subscriber.types == EVENT_TYPES


@pytest.mark.parametrize("table, message", [
    ({"secret": K}, "subscribers.x.url: must be an http:// or https:// URL"),
    ({"url": "ftp://h/x", "secret": K}, "subscribers.x.url"),
    ({"url": "http://h/x"}, "subscribers.x.secret: must be a non-empty string"),
    ({"url": "http://h/x", "secret": K, "types": ["transfer.done"]},
     "subscribers.x.types: unknown event type 'transfer.done'"),
    ({"url": "http://h/x", "secret": K, "types": []}, "subscribers.x.types"),
    ({"url": "http://h/x", "secret": K, "timeout_s": 0}, "subscribers.x.timeout_s"),
    ({"url": "http://h/x", "secret": K, "retries": 3}, "subscribers.x.retries: unknown key"),
    ({"url": "http://h/x", "secret": "${NOT_SET_ANYWHERE_42}"},
     "subscribers.x.secret: environment variable NOT_SET_ANYWHERE_42 is not set"),
    ({"url": "http://h/x", "secret": "a-raw-shared-secret-of-old"},
     "subscribers.x.secret: must start with whsec_"),
    ({"url": "http://h/x", "secret": "whsec_c2hvcnQ="},
     "subscribers.x.secret: must encode 24 to 64 bytes"),
    ({"url": "http://h/x", "secret": K, "previous_secret": "whsec_%%%"},
     "subscribers.x.previous_secret: the part after whsec_ is not valid base64"),
    ({"url": "http://h/x", "secret": K, "previous_secret": ""},
     "subscribers.x.previous_secret: must be a non-empty string"),
    ({"url": "http://h/x", "secret": K, "previous_secret": K},
     "subscribers.x.previous_secret: is the same as secret"),
])
def test_each_mistake_names_the_subscriber_and_field(table, message):
    # when
    with pytest.raises(ConfigError, match=r"^hooks\.toml: ") as raised:
        parse_subscribers({"subscribers": {"x": table}}, "hooks.toml")
    # then
    assert message in str(raised.value)
    for value in (K, "a-raw-shared-secret-of-old", "c2hvcnQ="):
        assert value not in str(raised.value)  # a secret, even a wrong one, is never repeated


def test_while_rotating_both_secrets_sign_and_both_are_masked(monkeypatch):
    # given a subscriber with a new secret and the previous one, both from the environment
    monkeypatch.setenv("FIN_SECRET", K)
    monkeypatch.setenv("FIN_SECRET_OLD", OLD)
    # when the file is read
    [finance] = parse_subscribers({"subscribers": {"finance": {
        "url": "https://finance.example/hooks", "secret": "${FIN_SECRET}",
        "previous_secret": "${FIN_SECRET_OLD}"}}}, "hooks.toml").values()
    # then deliveries sign with the new one first, then the old one
    assert finance.signing_secrets() == [K, OLD]
    # and neither, with or without its prefix, may reach a log or a listing
    assert {K, OLD, K.removeprefix("whsec_"), OLD.removeprefix("whsec_")} <= set(
        finance.secret_values())
    assert OLD[8:] not in repr(finance) and OLD[8:] not in str(finance.describe())
    # and a listing says the rotation is not over
    assert finance.describe()["rotating"] is True


def test_bad_names_and_top_level_keys_are_refused():
    # when / then
    with pytest.raises(ConfigError, match="lower case"):
        parse_subscribers({"subscribers": {"Bad Name": {}}}, "f")
    with pytest.raises(ConfigError, match="unknown top-level key 'providers'"):
        parse_subscribers({"providers": {}}, "f")


def test_no_file_means_no_subscribers_and_a_missing_file_is_an_error(tmp_path):
    # when / then
    assert load_subscribers(None) == {}
    with pytest.raises(ConfigError, match="webhooks file not found"):
        load_subscribers(tmp_path / "absent.toml")
    # given
    broken = tmp_path / "broken.toml"
    broken.write_text("[subscribers.x\n")
    # when / then
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_subscribers(broken)


def test_the_example_file_loads(monkeypatch):
    # given
    from pathlib import Path

    monkeypatch.setenv("RESOLVER_WEBHOOK_SECRET", K)
    example = Path(__file__).resolve().parents[3] / "examples" / "webhooks.toml"
    # when / then
    assert list(load_subscribers(example)) == ["example"]
