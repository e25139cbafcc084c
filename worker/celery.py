"""The Celery application: `celery -A worker worker` and `celery -A worker beat` find it here.

Only short "check these now" messages travel through the broker; every wait between checks
lives in Postgres (`transfers.next_check_at`). Messages are acknowledged after the task ran
(acks_late) and taken one at a time (prefetch 1); every task is safe to run twice.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, beat_init, worker_init

from worker.settings import get_settings

settings = get_settings()

app = Celery("resolver", broker=settings.broker, include=["worker.tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Checks spend their time waiting on providers: threads let one process wait on many.
    worker_pool="threads",
    worker_concurrency=settings.worker_concurrency,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    # A message whose worker died comes back after this long; the lease in Postgres has by then
    # run out and the sweep has re-claimed the transfer, so the redelivered check is skipped.
    broker_transport_options={"visibility_timeout": 600},
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
    from worker import runtime
    from worker.providers.config import ConfigError
    from worker.webhooks.runner import setup_from

    try:
        rt = runtime.current()
        setup_from(rt.settings)
    except (ConfigError, ValueError) as exc:
        print(f"resolver: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


worker_init.connect(_check_configuration)
beat_init.connect(_check_configuration)


def _mask_secrets_in_logs(logger: Any, **_: Any) -> None:
    from worker import logs, runtime
    from worker.providers.config import ConfigError

    try:
        rt = runtime.current()
    except ConfigError:
        return  # start-up stops with the configuration message
    logs.install(logger, logs.secret_source(rt), as_json=rt.settings.log_format == "json")


after_setup_logger.connect(_mask_secrets_in_logs)
after_setup_task_logger.connect(_mask_secrets_in_logs)
