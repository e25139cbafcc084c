"""Intake has a queue of its own and keeps its replies; every other task does neither."""

from __future__ import annotations

import worker.process.tasks  # noqa: F401  (registers the tasks on the app)
from worker.process.celery_app import (
    DEFAULT_QUEUE,
    INTAKE_QUEUE,
    INTAKE_TASKS,
    VISIBILITY_TIMEOUT_S,
    app,
)
from worker.process.settings import get_settings


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def resolver_tasks() -> list[str]:
    return sorted(name for name in app.tasks if name.startswith("resolver."))


def test_intake_tasks_go_to_the_intake_queue_and_keep_their_reply():
    # when / then
    for name in INTAKE_TASKS:
        assert queue_of(name) == INTAKE_QUEUE
        assert app.tasks[name].ignore_result is False


def test_checks_and_the_rest_stay_on_the_default_queue_without_results():
    # given
    others = [name for name in resolver_tasks() if name not in INTAKE_TASKS]

    # then
    assert "resolver.check_transfer" in others and "resolver.sweep" in others
    for name in others:
        assert queue_of(name) == DEFAULT_QUEUE
        assert app.tasks[name].ignore_result is True


def test_a_worker_started_without_queues_consumes_both():
    # when / then
    assert set(app.amqp.queues.consume_from) == {DEFAULT_QUEUE, INTAKE_QUEUE}


def test_a_reply_expires_and_redelivery_waits_out_the_longest_check():
    # given
    settings = get_settings()

    # then
    assert app.conf.result_expires == settings.result_expires_s
    visibility_s = app.conf.broker_transport_options["visibility_timeout"]
    # A check with its follow-ups holds its message about two leases; an intake retry up to 60 s.
    assert visibility_s == VISIBILITY_TIMEOUT_S
    assert visibility_s >= 2 * settings.lease_s + 60
