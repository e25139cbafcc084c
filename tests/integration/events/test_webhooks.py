"""Webhooks: signed POSTs, retries held in Postgres, failure after the last step, fan-out."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import requests
from sqlalchemy import func, select, text
from standardwebhooks.webhooks import Webhook

from models import WebhookAttempt, WebhookDelivery
from tests.integration.events.examples import load_example
from tests.integration.events.receivers import scripted_receiver, serving
from tests.integration.events.support import outbox, settle
from worker.domain.types import Outcome
from worker.process import tasks
from worker.process.celery_app import app
from worker.process.db import transaction
from worker.process.runtime import use_runtime
from worker.webhooks import runner
from worker.webhooks.claims import claim_due
from worker.webhooks.config import EVENT_TYPES, Subscriber
from worker.webhooks.delivery import attempt
from worker.webhooks.fanout import fan_out
from worker.webhooks.signing import SignatureError, signed_headers, verify

pytestmark = pytest.mark.integration

SECRET = "whsec_dGVzdC1zZWNyZXQtb2YtdGhlLWRlbGl2ZXJ5LXRlc3Rz"  # 33 bytes
PREVIOUS = "whsec_cHJldmlvdXMtc2VjcmV0LW9mLXRoZS1kZWxpdmVyeS10ZXN0cw=="  # 37 bytes
FAST = (timedelta(milliseconds=50),) * 3


def setup_for(*subscribers: Subscriber, schedule=FAST) -> runner.WebhookSetup:
    return runner.WebhookSetup(subscribers={s.name: s for s in subscribers},
                               schedule=schedule, lease=timedelta(seconds=5), batch=10)


def finance(url: str, types=EVENT_TYPES, previous_secret: str | None = None) -> Subscriber:
    return Subscriber(name="finance", url=url, secret=SECRET, types=frozenset(types),
                      timeout_s=2, connect_timeout_s=1, previous_secret=previous_secret)


def run_passes(runtime, setup, until, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "deliveries did not settle in time"
        runner.run_once(runtime.engine, setup, runner.inline(runtime.engine, setup))
        time.sleep(0.01)


def deliveries(runtime) -> list[WebhookDelivery]:
    with transaction(runtime.engine) as session:
        return list(session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))
                    .scalars())


def attempts(runtime) -> list[WebhookAttempt]:
    with transaction(runtime.engine) as session:
        return list(session.execute(select(WebhookAttempt).order_by(WebhookAttempt.id))
                    .scalars())


def test_a_receiver_failing_twice_then_accepting_gets_the_event_once(runtime):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    [event] = outbox(runtime)
    # when a receiver fails twice, then accepts
    with scripted_receiver([500, 503], then=204) as receiver:
        setup = setup_for(finance(receiver.url))
        run_passes(runtime, setup, until=lambda: deliveries(runtime)[0].status == "delivered"
                   if deliveries(runtime) else False)
        # more passes send nothing more
        for _ in range(5):
            runner.run_once(runtime.engine, setup, runner.inline(runtime.engine, setup))
        time.sleep(0.1)

    # then
    assert [r.answered for r in receiver.requests] == [500, 503, 204]
    [accepted] = receiver.accepted
    verify(SECRET, accepted.headers, accepted.body)  # raises if the signature is wrong
    # the Standard Webhooks library verifies it too, as a receiver in another language would
    assert Webhook(SECRET).verify(accepted.body, accepted.headers) == event.payload
    assert json.loads(accepted.body) == event.payload
    assert accepted.headers["Content-Type"].startswith("application/cloudevents+json")
    assert accepted.headers["webhook-id"] == str(event.id)
    assert abs(int(accepted.headers["webhook-timestamp"]) - time.time()) < 60
    assert accepted.headers["webhook-signature"].startswith("v1,")
    assert " " not in accepted.headers["webhook-signature"]  # one secret, one signature
    assert not any(name.lower().startswith("x-resolver-signature") for name in accepted.headers)
    # every retry carries the same event and id, each signed afresh
    assert {r.body for r in receiver.requests} == {accepted.body}
    assert {r.headers["webhook-id"] for r in receiver.requests} == {str(event.id)}

    # when / then a tampered body, or the wrong secret, fails verification
    tampered = accepted.body.replace(b'"amount":"10.0000"', b'"amount":"99.0000"')
    assert tampered != accepted.body
    with pytest.raises(SignatureError):
        verify(SECRET, accepted.headers, tampered)
    with pytest.raises(SignatureError):
        verify(PREVIOUS, accepted.headers, accepted.body)

    # then the delivery and each attempt are on record
    [delivery] = deliveries(runtime)
    assert (delivery.status, delivery.attempts, delivery.last_http_status) == ("delivered", 2, 204)
    assert delivery.next_attempt_at is None and delivery.delivered_at is not None
    logged = attempts(runtime)
    assert [(a.http_status, a.result) for a in logged] == [
        (500, "retrying"), (503, "retrying"), (204, "delivered")]
    assert (logged[0].error or "").startswith("HTTP 500")
    assert logged[2].error is None
    # the waits of the schedule were kept
    gaps = [later.attempted_at - earlier.attempted_at
            for earlier, later in pairwise(logged)]
    assert all(gap >= timedelta(milliseconds=50) for gap in gaps)
    # the secret is never stored
    assert all(SECRET not in (a.error or "") for a in logged)


def test_while_a_secret_is_rotated_receivers_with_either_secret_verify(runtime):
    # given a subscriber whose file lists a new secret and the previous one
    settle(runtime, {"a": Outcome.SUCCEEDED})
    with scripted_receiver([]) as receiver:
        setup = setup_for(finance(receiver.url, previous_secret=PREVIOUS))
        # when the event is delivered
        run_passes(runtime, setup, until=lambda: bool(receiver.accepted))
    [accepted] = receiver.accepted
    # then it carries two signatures, the new one first
    signatures = accepted.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    # and a receiver still on the old secret and one already on the new one both accept it,
    # with our helper and with the library
    for secret in (PREVIOUS, SECRET):
        verify(secret, accepted.headers, accepted.body)
        Webhook(secret).verify(accepted.body, accepted.headers)
    # while a stale copy is refused whichever secret checks it
    for secret in (PREVIOUS, SECRET):
        with pytest.raises(SignatureError, match="away from now"):
            verify(secret, accepted.headers, accepted.body, now=time.time() + 301)


def test_a_delivery_that_keeps_failing_is_marked_failed_after_the_last_step(runtime):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    # when the receiver always fails
    with scripted_receiver([], then=500) as receiver:
        setup = setup_for(finance(receiver.url), schedule=(timedelta(milliseconds=20),) * 2)
        run_passes(runtime, setup, until=lambda: deliveries(runtime)[0].status == "failed"
                   if deliveries(runtime) else False)
        for _ in range(3):
            runner.run_once(runtime.engine, setup, runner.inline(runtime.engine, setup))
    # then
    assert len(receiver.requests) == 3  # the first attempt and one per step of the schedule
    [delivery] = deliveries(runtime)
    assert delivery.next_attempt_at is None and delivery.attempts == 3
    assert [a.result for a in attempts(runtime)] == ["retrying", "retrying", "failed"]


def test_an_unreachable_subscriber_is_logged_and_retried(runtime):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    setup = setup_for(finance("http://127.0.0.1:1/hooks"))
    # when
    runner.run_once(runtime.engine, setup, runner.inline(runtime.engine, setup))
    # then
    [logged] = attempts(runtime)
    assert logged.http_status is None and logged.result == "retrying"
    assert (logged.error or "").startswith("ConnectionError")
    assert deliveries(runtime)[0].status == "pending"


def test_fan_out_makes_one_delivery_per_subscriber_and_matching_event(runtime):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED, "b": Outcome.MISMATCH})
    resolved, review = outbox(runtime)
    subscribers = {
        "finance": Subscriber("finance", "http://127.0.0.1:1/f", SECRET,
                              frozenset({"transfer.resolved", "transfer.manually_resolved"})),
        "ops": Subscriber("ops", "http://127.0.0.1:1/o", SECRET,
                          frozenset({"transfer.needs_review"})),
    }
    now = datetime.now(UTC)
    # when / then
    assert fan_out(runtime.engine, subscribers, now, 100) == 2
    assert fan_out(runtime.engine, subscribers, now, 100) == 0  # the queue is empty now
    # when an event is queued twice (say, two fan-outs racing)
    with transaction(runtime.engine) as session:
        session.execute(text("INSERT INTO webhook_fanout_queue (event_seq) VALUES (:s)"),
                        {"s": resolved.seq})
    # then it makes no second delivery
    assert fan_out(runtime.engine, subscribers, now, 100) == 0
    assert sorted((d.subscriber, d.event_id) for d in deliveries(runtime)) == [
        ("finance", resolved.id), ("ops", review.id)]
    with transaction(runtime.engine) as session:
        left = session.execute(text("SELECT count(*) FROM webhook_fanout_queue")).scalar_one()
    assert left == 0


def test_events_nobody_wants_are_dequeued_without_deliveries(runtime):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    # when / then
    assert fan_out(runtime.engine, {}, datetime.now(UTC), 100) == 0
    # then
    with transaction(runtime.engine) as session:
        assert session.execute(text("SELECT count(*) FROM webhook_fanout_queue")).scalar_one() \
            == 0
    assert deliveries(runtime) == []


def test_claims_never_overlap_and_a_lost_attempt_comes_back_after_its_lease(runtime):
    # given
    settle(runtime, {f"c{n}": Outcome.SUCCEEDED for n in range(4)})
    subscriber = finance("http://127.0.0.1:1/hooks")
    now = datetime.now(UTC)
    fan_out(runtime.engine, {"finance": subscriber}, now, 100)

    # when two claims are made
    first = claim_due(runtime.engine, "finance", now, timedelta(milliseconds=200), 2)
    second = claim_due(runtime.engine, "finance", now, timedelta(milliseconds=200), 10)
    # then
    assert len(first) == 2 and len(second) == 2
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    # when / then nothing more is due while the leases run
    assert claim_due(runtime.engine, "finance", now, timedelta(seconds=5), 10) == []

    # when / then the messages were lost: once the lease ran out the deliveries are due again
    later = now + timedelta(milliseconds=300)
    again = claim_due(runtime.engine, "finance", later, timedelta(seconds=5), 10)
    assert {c.delivery_id for c in again} == {c.delivery_id for c in first + second}
    # and the old claim's token no longer lets anyone act on them
    assert attempt(runtime.engine, {"finance": subscriber}, FAST, first[0],
                   requests.Session()) == "stale"


def test_the_example_receiver_verifies_and_handles_each_event_once(runtime):
    # given
    example = load_example("webhook_receiver")
    handled: list[str] = []
    settle(runtime, {"a": Outcome.SUCCEEDED})
    # when the example receiver gets the event
    with serving(example.receiver(SECRET, lambda event: handled.append(event["id"]))) as url:
        setup = setup_for(finance(url))
        run_passes(runtime, setup, until=lambda: bool(handled))
        [event] = outbox(runtime)
        body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
        headers = signed_headers([SECRET], str(event.id), body)
        # when / then our own retry of an event it already handled is accepted, not handled again
        again = requests.post(url, data=body, headers=headers, timeout=5)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        # when / then a tampered body, and a request signed six minutes ago, are refused
        forged = requests.post(url, data=body.replace(b"10.0000", b"99.0000"),
                               headers=headers, timeout=5)
        assert forged.status_code == 401
        stale = signed_headers([SECRET], str(event.id), body, timestamp=int(time.time()) - 360)
        assert requests.post(url, data=body, headers=stale, timeout=5).status_code == 401
    # then it handled the event once, after one attempt
    assert handled == [str(event.id)]
    with transaction(runtime.engine) as session:
        assert session.execute(select(func.count()).select_from(WebhookAttempt)).scalar_one() \
            == 1


def test_the_beat_task_claims_and_each_delivery_task_posts(runtime, tmp_path, monkeypatch):
    # when / then beat schedules the task
    assert app.conf.beat_schedule["deliver-webhooks"]["task"] == "resolver.deliver_webhooks"
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    with scripted_receiver([]) as receiver:
        file = tmp_path / "webhooks.toml"
        file.write_text(f'[subscribers.finance]\nurl = "{receiver.url}"\nsecret = "{SECRET}"\n')
        use_runtime(dataclasses.replace(
            runtime, settings=runtime.settings.model_copy(update={"webhooks_file": str(file)})))
        sent: list[tuple[int, str]] = []
        monkeypatch.setattr(tasks, "dispatch_webhooks", lambda claims: sent.extend(
            (claim.delivery_id, str(claim.lease_token)) for claim in claims))

        # when / then the beat task fans out and claims
        assert tasks.deliver_webhooks() == {"fanned_out": 1, "finance": 1}
        [(delivery_id, token)] = sent
        # when / then a delivery task posts, once
        assert tasks.deliver_webhook(delivery_id, token) == "delivered"
        assert tasks.deliver_webhook(delivery_id, token) == "stale"  # a redelivered message
    # then
    [accepted] = receiver.accepted
    verify(SECRET, accepted.headers, accepted.body)
