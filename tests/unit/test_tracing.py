"""Traces are off unless an endpoint is named; on, they are installed once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from opentelemetry import trace

from worker.process import tracing
from worker.process.settings import Settings

OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                  "OTEL_SDK_DISABLED", "RESOLVER_OTEL_ENDPOINT")


@pytest.fixture
def no_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_setup_does_nothing_without_an_endpoint(no_otel_variables):
    # given neither our setting nor the standard variables
    settings = Settings()

    # when a process sets tracing up
    on = tracing.setup(settings, "resolver-worker")

    # then nothing is installed: no provider, and our spans record nothing
    assert on is False and not tracing.enabled()
    assert not isinstance(trace.get_tracer_provider(), _sdk_provider())
    with tracing.span("resolver.check_batch", batch_size=3) as span:
        assert not span.is_recording()


def test_an_endpoint_is_read_from_our_setting_or_the_standard_variables(
        no_otel_variables, monkeypatch):
    # when / then each way of naming a collector turns traces on
    assert tracing.endpoint(Settings(otel_endpoint="http://collector:4318")) \
        == "http://collector:4318"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces")
    assert tracing.endpoint(Settings()) == "http://c:4318/v1/traces"
    # given the standard switch set as well
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    # when / then it turns traces off whatever is named
    assert tracing.endpoint(Settings(otel_endpoint="http://collector:4318")) is None


def test_our_setting_is_a_base_url_as_the_standard_one_is():
    # when / then
    assert tracing._traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert tracing._traces_url("http://collector:4318/v1/traces/") \
        == "http://collector:4318/v1/traces"


SETUP_TWICE = """
import json
from opentelemetry import trace
from worker.process import tracing
from worker.process.settings import Settings

settings = Settings()
first = tracing.setup(settings, "resolver-beat")
provider = trace.get_tracer_provider()
second = tracing.setup(settings, "resolver-beat")
with tracing.span("resolver.check_batch", batch_size=2) as span:
    recording = span.is_recording()
print(json.dumps({"first": first, "second": second, "same": trace.get_tracer_provider() is provider,
                  "service": provider.resource.attributes["service.name"],
                  "recording": recording}))
"""


def test_with_an_endpoint_setup_installs_once_and_records():
    # given a process (of its own: the API's global provider can be set once) with a collector
    # named by our setting, at a port where nothing listens (the span is never exported here)
    env = {key: value for key, value in os.environ.items() if key not in OTEL_VARIABLES}
    env["RESOLVER_OTEL_ENDPOINT"] = "http://127.0.0.1:9"
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "0.5"  # the export at exit gives up soon

    # when it sets tracing up twice
    run = subprocess.run([sys.executable, "-c", SETUP_TWICE], env=env, capture_output=True,
                         text=True, timeout=60, check=True)

    # then the first call installed the provider under the service's name, the second changed
    # nothing, and our spans record
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {
        "first": True, "second": True, "same": True, "service": "resolver-beat",
        "recording": True}


def _sdk_provider() -> type:
    from opentelemetry.sdk.trace import TracerProvider

    return TracerProvider
