"""The Celery application: `celery -A worker worker` and `celery -A worker beat` find it here.

Only short "check these now" messages travel through the broker; every wait between checks
lives in Postgres (`transfers.next_check_at`). Messages are acknowledged after the task ran
(acks_late) and taken one at a time (prefetch 1); every task is safe to run twice.

The wallet's intake tasks have a queue of their own, `resolver.intake`, so a registration never
waits behind a backlog of checks, and they alone leave a reply in the result backend: the
wallet counts a transfer as handed over only once that reply says it is committed.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    beat_init,
    worker_init,
    worker_process_init,
)
from kombu import Exchange, Queue

from worker.process.settings import get_settings

settings = get_settings()

DEFAULT_QUEUE = "celery"
INTAKE_QUEUE = "resolver.intake"
INTAKE_TASKS = ("resolver.register_transfer", "resolver.begin_transfer",
                "resolver.complete_transfer")

# A message held unacknowledged this long is handed out again. It must outlast the longest a
# live worker holds one: a check with its follow-ups (about two leases plus 20 s), a message
# reserved behind it, an intake retry waiting out its backoff (at most 60 s). Five leases covers
# that with room; a copy handed out too early is harmless (every task is safe twice, a stale
# check finds its lease gone). Shorter than that gains little: a wallet that waits for its
# reply and resends on a timeout lands a registration long before any redelivery.
VISIBILITY_TIMEOUT_S = max(300.0, 5 * settings.lease_s)


def _queue(name: str) -> Queue:
    # Exchange and routing key named as the queue: what a sender that only knows the name uses.
    return Queue(name, Exchange(name), routing_key=name)


app = Celery("resolver", broker=settings.broker, backend=settings.results,
             include=["worker.process.tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Checks spend their time waiting on providers: threads let one process wait on many.
    worker_pool="threads",
    worker_concurrency=settings.worker_concurrency,
    # Only intake tasks keep a result (they say so themselves), so checks do not flood it.
    task_ignore_result=True,
    result_expires=settings.result_expires_s,
    # With no -Q a worker consumes both queues; `-Q resolver.intake` makes an intake worker.
    task_default_queue=DEFAULT_QUEUE,
    task_queues=(_queue(DEFAULT_QUEUE), _queue(INTAKE_QUEUE)),
    task_routes={name: {"queue": INTAKE_QUEUE} for name in INTAKE_TASKS},
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
    timezone="UTC",
    beat_schedule={
        "sweep": {
            "task": "resolver.sweep",
            "schedule": settings.sweep_interval_s,
            # A sweep that waited in the queue past the next one is pointless: drop it.
            "options": {"expires": max(settings.sweep_interval_s * 5, 5)},
        },
        "relay": {
            "task": "resolver.relay_events",
            "schedule": 1.0,
            "options": {"expires": 10},
        },
        "deliver-webhooks": {
            "task": "resolver.deliver_webhooks",
            "schedule": settings.webhook_interval_s,
            "options": {"expires": max(settings.webhook_interval_s * 5, 5)},
        },
    },
)


def _check_configuration(**_: Any) -> None:
    """A wrong provider or webhooks file stops start-up with one clear message."""
    from worker.process.runtime import current_runtime
    from worker.providers.config import ConfigError
    from worker.webhooks.runner import setup_from

    try:
        runtime = current_runtime()
        setup_from(runtime.settings)
    except (ConfigError, ValueError) as exc:
        print(f"resolver: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


worker_init.connect(_check_configuration)
beat_init.connect(_check_configuration)


def _serve_metrics(**_: Any) -> None:
    """Every worker process serves its counters on a port of its own (worker.metrics.engine).

    The thread pool counts in the worker's one process (worker_init); a prefork pool counts in
    its children, which serve on ports of their own too (worker_process_init). Beat serves none.
    """
    from worker.metrics import engine

    engine.serve(settings.metrics_port)


worker_init.connect(_serve_metrics)
worker_process_init.connect(_serve_metrics)


def _trace(service_name: str) -> Any:
    """Turn traces on when an endpoint is configured (worker.process.tracing); after the
    configuration check, so a wrong providers file stops start-up before anything is installed."""

    def start(**_: Any) -> None:
        from worker.process import tracing
        from worker.process.runtime import current_runtime

        runtime = current_runtime()
        tracing.setup(runtime.settings, service_name, runtime.engine)

    return start


worker_init.connect(_trace("resolver-worker"), weak=False)
beat_init.connect(_trace("resolver-beat"), weak=False)


def _mask_secrets_in_logs(logger: Any, **_: Any) -> None:
    from worker.process import logs
    from worker.process.runtime import current_runtime
    from worker.providers.config import ConfigError

    try:
        runtime = current_runtime()
    except ConfigError:
        return  # start-up stops with the configuration message
    logs.install(logger, logs.secret_source(runtime), as_json=runtime.settings.log_format == "json")


after_setup_logger.connect(_mask_secrets_in_logs)
after_setup_task_logger.connect(_mask_secrets_in_logs)
