"""Traces, optional: OpenTelemetry spans from intake through a check's provider call and apply.

Off unless an endpoint is named, by `RESOLVER_OTEL_ENDPOINT` or by the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (and off whenever
`OTEL_SDK_DISABLED=true`). When off, `span()` hands out the API's invalid (non-recording)
span and touches nothing else: no context set, nothing recorded, no attributes set.

When on, `setup()` installs a tracer provider that batches spans to an OTLP/HTTP collector,
and the Celery, SQLAlchemy and requests instrumentations, so a check batch's span holds its
provider calls (each with its HTTP request) and its apply (with its SQL statements). Celery
carries the trace context in its messages, so a check batch sits in the trace of the sweep
that sent it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Tracer
from sqlalchemy import Engine

from worker.process.settings import Settings

STANDARD_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
TRACES_PATH = "/v1/traces"

_NO_OP: Tracer = trace.NoOpTracer()
_tracer: Tracer = _NO_OP  # the installed provider's tracer; unused while off
_provider: Any = None  # the SDK's TracerProvider once installed (the SDK is imported only then)
_lock = threading.Lock()


def endpoint(settings: Settings) -> str | None:
    """Where spans go: our setting (a collector's base URL), else what the standard variables
    name (the exporter reads those itself, so this only says whether one is set)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if settings.otel_endpoint:
        return settings.otel_endpoint
    for name in STANDARD_ENDPOINTS:
        if os.environ.get(name):
            return os.environ[name]
    return None


def setup(settings: Settings, service_name: str, engine: Engine | None = None) -> bool:
    """Turn tracing on for this process if an endpoint is configured; True if it is on.

    Safe to call more than once (Celery's signals, an app built twice): the first call that
    finds an endpoint installs everything, later calls change nothing.
    """
    with _lock:
        if _provider is not None:
            return True
    target = endpoint(settings)
    if target is None:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Our setting is a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is; without it the exporter
    # reads the standard variables (and their headers, timeouts, certificates) itself.
    exporter = OTLPSpanExporter(endpoint=_traces_url(settings.otel_endpoint)) \
        if settings.otel_endpoint else OTLPSpanExporter()
    # OTEL_SERVICE_NAME, when set, names the service; otherwise the process's role does.
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if install(provider, engine):
        trace.set_tracer_provider(provider)  # for anything else that asks the API for one
    return True


def _traces_url(base: str) -> str:
    base = base.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def install(provider: Any, engine: Engine | None = None) -> bool:
    """Trace into `provider` (an SDK TracerProvider) with the three instrumentations, the
    SQL ones on `engine`. False if something is installed already. Tests pass a provider
    with an in-memory exporter, and call `uninstall()` afterwards."""
    global _provider, _tracer
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    with _lock:
        if _provider is not None:
            return False
        _provider = provider
        _tracer = provider.get_tracer("worker")
        CeleryInstrumentor().instrument(tracer_provider=provider)
        RequestsInstrumentor().instrument(tracer_provider=provider)
        # The engine exists already (worker.process.db binds create_engine at import), so it is
        # named.
        # The instrumentation still declares SQLAlchemy < 2.1, and would then do nothing; the
        # engine events it listens to are the same in 2.1 (the SQL spans' test runs on 2.1).
        SQLAlchemyInstrumentor().instrument(tracer_provider=provider, engine=engine,
                                            skip_dep_check=True)
        return True


def uninstall() -> None:
    """Undo `install()`: spans go to the no-op tracer again (tests)."""
    global _provider, _tracer
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    with _lock:
        if _provider is None:
            return
        for instrumentor in (CeleryInstrumentor(), RequestsInstrumentor(),
                             SQLAlchemyInstrumentor()):
            instrumentor.uninstrument()
        _provider.force_flush()
        _provider, _tracer = None, _NO_OP


def enabled() -> bool:
    return _provider is not None


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span of ours around a step, current for what runs inside it (exceptions recorded).

    Attribute names get the `resolver.` prefix; None values are left out. Off, not even the
    no-op tracer is asked (it would still set the context): a step pays a few microseconds.
    """
    if _provider is None:
        yield trace.INVALID_SPAN
        return
    with _tracer.start_as_current_span(name) as current:
        if current.is_recording():
            set_attributes(current, **attributes)
        yield current


def set_attributes(current: Span, **attributes: Any) -> None:
    """Add attributes to a span (outcomes known only at its end); nothing when not recording."""
    if current.is_recording():
        current.set_attributes({f"resolver.{key}": value for key, value in attributes.items()
                                if value is not None})
