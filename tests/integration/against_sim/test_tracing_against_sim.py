"""One trace of a check batch against the simulator: the batch's span holds each provider call
(with its HTTP request) and the apply (with its SQL), calls run on a thread pool or not."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.integration.against_sim.conftest import sim_transaction
from tests.integration.support import register
from worker.engine.check.batch import NoGuard, run_batch
from worker.engine.sweep.due import claim_due
from worker.process import tracing

pytestmark = pytest.mark.integration

SQL = "opentelemetry.instrumentation.sqlalchemy"
HTTP = "opentelemetry.instrumentation.requests"


@pytest.fixture
def spans(runtime) -> Iterator[InMemorySpanExporter]:
    """Traces on for this test, into memory, with the SQL spans of the test's engine."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert tracing.install(provider, runtime.engine)
    yield exporter
    tracing.uninstall()


def named(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name == name]


def children(finished: tuple[ReadableSpan, ...], parent: ReadableSpan,
             scope: str | None = None) -> list[ReadableSpan]:
    assert parent.context is not None
    return [span for span in finished
            if span.parent is not None and span.parent.span_id == parent.context.span_id
            and (scope is None or (span.instrumentation_scope is not None
                                   and span.instrumentation_scope.name == scope))]


def test_a_check_batch_is_one_span_tree_from_intake_to_apply(runtime, engine, sim, spans):
    # given three transfers registered at one instance whose provider will say they succeeded
    ids = []
    for n in range(3):
        sim.load([sim_transaction("minigame", f"mg-trace-{n}", ["succeeded"])])
        ids.append(register(runtime, provider="minigame", tx_id=f"mg-trace-{n}", amount="12.50",
                            player_id="player-1"))
    claims = claim_due(engine, runtime.providers["minigame"], datetime.now(UTC),
                       timedelta(seconds=30), limit=10)
    assert len(claims) == 3

    # when they are checked as one batch, the calls on a pool of threads
    with ThreadPoolExecutor(4) as calls:
        run_batch(engine, runtime.providers, claims, runtime.adapter_for, NoGuard(), calls=calls)

    finished = spans.get_finished_spans()
    # then each registration is a span naming its transfer, with its SQL under it
    intakes = named(finished, "resolver.intake.register")
    assert sorted(span.attributes["resolver.transfer_id"] for span in intakes) == sorted(ids)
    assert all(children(finished, span, SQL) for span in intakes)
    assert {span.attributes["resolver.created"] for span in intakes} == {True}

    # and the batch is one span with its size and outcomes
    [batch] = named(finished, "resolver.check_batch")
    assert batch.attributes["resolver.provider"] == "minigame"
    assert batch.attributes["resolver.batch_size"] == 3
    assert sorted(batch.attributes["resolver.transfer_ids"]) == sorted(ids)
    assert batch.attributes["resolver.done.resolved"] == 3

    # and every provider call, though run on another thread, is a child of the batch
    calls_made = named(finished, "resolver.provider_call")
    assert len(calls_made) == 3
    [apply] = named(finished, "resolver.apply")
    assert {span.context.span_id for span in children(finished, batch, "worker")} \
        == {span.context.span_id for span in [*calls_made, apply]}
    assert sorted(span.attributes["resolver.transfer_id"] for span in calls_made) == sorted(ids)
    for call in calls_made:
        assert call.attributes["resolver.outcome"] == "SUCCEEDED"
        assert call.attributes["resolver.http_status"] == 200
        # with the HTTP request it made under it
        [request] = children(finished, call, HTTP)
        assert request.attributes is not None
        assert any(value == 200 for key, value in request.attributes.items()
                   if "status_code" in key)

    # and the apply (a child of the batch, above) has its statements under it, in one trace
    assert apply.attributes["resolver.asked"] == 3
    statements = [span.attributes.get("db.statement", "") for span in
                  children(finished, apply, SQL)]
    assert any("UPDATE transfers" in sql for sql in statements)
    assert any("INSERT INTO checks" in sql for sql in statements)
    trace_ids = {span.context.trace_id for span in [batch, apply, *calls_made]}
    assert trace_ids == {batch.context.trace_id}


def test_without_a_pool_the_calls_are_children_of_the_batch_too(runtime, engine, sim, spans):
    # given one transfer, whose call runs in the batch's own thread
    sim.load([sim_transaction("minigame", "mg-alone", ["pending"])])
    register(runtime, provider="minigame", tx_id="mg-alone", amount="12.50", player_id="player-1")
    claims = claim_due(engine, runtime.providers["minigame"], datetime.now(UTC),
                       timedelta(seconds=30), limit=10)

    # when it is checked
    run_batch(engine, runtime.providers, claims, runtime.adapter_for, NoGuard())

    # then its call is under the batch, and the batch says it was rescheduled
    finished = spans.get_finished_spans()
    [batch] = named(finished, "resolver.check_batch")
    [call] = named(finished, "resolver.provider_call")
    assert call.parent is not None and call.parent.span_id == batch.context.span_id
    assert call.attributes["resolver.outcome"] == "PENDING"
    assert batch.attributes["resolver.done.rescheduled"] == 1
