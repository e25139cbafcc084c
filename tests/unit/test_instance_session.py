"""An instance's HTTP session takes its proxy and CA bundle from the environment once."""

from __future__ import annotations

from dataclasses import replace

from tests.conftest import scripted_instance
from worker.process.runtime import instance_session

INSTANCE = replace(scripted_instance(), base_url="https://api.provider.example")


def test_the_proxy_for_the_instance_s_url_is_kept(monkeypatch):
    # given a proxy in the environment
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    # when the instance's session is made
    http = instance_session(INSTANCE)
    # then it uses the proxy without reading it again
    assert http.proxies["https"] == "http://egress.internal:3128"
    assert http.trust_env is False


def test_no_proxy_exempts_the_instance(monkeypatch):
    # given
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.setenv("NO_PROXY", "provider.example")
    # when / then
    assert "https" not in instance_session(INSTANCE).proxies


def test_a_ca_bundle_named_in_the_environment_is_used(monkeypatch):
    # given
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/operator-ca.pem")
    # when / then
    assert instance_session(INSTANCE).verify == "/etc/ssl/operator-ca.pem"
    # given no bundle named
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    # when / then
    assert instance_session(INSTANCE).verify is True
