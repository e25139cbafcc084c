"""`resolver events replay|tail` and `resolver webhooks list|deliveries|deliver|redeliver`."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from models import AuditRecord
from tests.integration.events.receivers import scripted_receiver
from tests.integration.events.support import outbox, relay_now, settle
from worker.cli import main
from worker.domain.types import Outcome
from worker.process.db import transaction
from worker.process.runtime import use_runtime
from worker.process.settings import get_settings

pytestmark = pytest.mark.integration


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_replay_prints_every_event_after_a_seq_in_order(runtime):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED, "b": Outcome.FAILED, "c": Outcome.MISMATCH})
    every = outbox(runtime)

    # when
    lines = [json.loads(line) for line in run("events", "replay", "--json").splitlines()]
    # then
    assert [line["seq"] for line in lines] == [event.seq for event in every]
    assert [line["event"] for line in lines] == [event.payload for event in every]

    # when replayed after the first, one at most
    after_first = run("events", "replay", "--after", str(every[0].seq), "--limit", "1", "--json")
    # then
    assert [json.loads(line)["seq"] for line in after_first.splitlines()] == [every[1].seq]
    # when / then the human form names the events
    human = run("events", "replay")
    assert "transfer.needs_review" in human and str(every[2].id) in human


@pytest.fixture
def settings_from_environment():
    """`tail` reads RESOLVER_REDIS_URL through the cached settings: read them afresh, and
    leave no settings of this test cached for the next."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_tail_prints_what_is_on_the_stream(runtime, settings_from_environment):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED, "b": Outcome.FAILED})
    relay_now(runtime)
    # when
    result = CliRunner().invoke(main, ["events", "tail", "--from-start", "--count", "2",
                                       "--json", "--stream", runtime.settings.events_stream],
                                catch_exceptions=False)
    # then
    assert result.exit_code == 0, result.output
    # Only events on stdout; the line saying it waits goes to stderr.
    assert result.stderr.startswith(f"waiting for events on {runtime.settings.events_stream}")
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        str(event.id) for event in outbox(runtime)]


@pytest.fixture
def with_webhooks(runtime, tmp_path, monkeypatch):
    """A runtime whose webhooks file names one subscriber at the given URL."""

    def install(url: str, schedule: str = "20ms,20ms", rotating: bool = False) -> None:
        secret = "whsec_Y2xpLXRlc3Qtc2VjcmV0LW9mLTI0LWJ5dGVzISE="
        monkeypatch.setenv("FINANCE_WEBHOOK_SECRET", secret)
        monkeypatch.setenv("FINANCE_WEBHOOK_SECRET_OLD", "whsec_" + "b2xk" * 8)
        previous = 'previous_secret = "${FINANCE_WEBHOOK_SECRET_OLD}"\n' if rotating else ""
        file = tmp_path / "webhooks.toml"
        file.write_text(f'[subscribers.finance]\nurl = "{url}"\n'
                        f'secret = "${{FINANCE_WEBHOOK_SECRET}}"\n{previous}'
                        f'types = ["transfer.resolved"]\ntimeout_s = 2\n')
        settings = runtime.settings.model_copy(update={"webhooks_file": str(file),
                                                       "webhook_schedule": schedule})
        use_runtime(dataclasses.replace(runtime, settings=settings))

    return install


def test_the_listing_says_while_a_previous_secret_still_signs(runtime, with_webhooks):
    # given a subscriber in the middle of a rotation
    with_webhooks("http://127.0.0.1:1/hooks", rotating=True)
    # when the subscribers are listed
    human, listed = run("webhooks", "list"), json.loads(run("webhooks", "list", "--json"))
    # then the listing says so, and shows neither secret
    assert "previous secret still signs" in human and listed[0]["rotating"] is True
    assert "whsec" not in human and "b2xk" not in human


def test_a_failed_delivery_is_redelivered_by_hand(runtime, with_webhooks):
    # given
    settle(runtime, {"a": Outcome.SUCCEEDED})
    [event] = outbox(runtime)
    with scripted_receiver([500, 500, 500], then=200) as receiver:
        with_webhooks(receiver.url)
        # when delivery fails through the schedule
        for _ in range(3):  # the first attempt and the two steps of the schedule
            run("webhooks", "deliver")
            time.sleep(0.05)
        # then
        failed = json.loads(run("webhooks", "deliveries", "--status", "failed", "--json"))
        assert [row["event_id"] for row in failed] == [str(event.id)]
        assert failed[0]["last_error"].startswith("HTTP 500")

        # when / then it is redelivered by hand
        said = run("webhooks", "redeliver", str(event.id), "--by", "alice")
        assert f"{event.id} -> finance: due now" in said
        # when delivery runs again
        run("webhooks", "deliver")
    # then it went through, and the redelivery is on record
    assert [r.answered for r in receiver.requests] == [500, 500, 500, 200]
    listed = json.loads(run("webhooks", "list", "--json"))
    assert listed == [{"name": "finance", "url": receiver.url, "types": ["transfer.resolved"],
                       "timeout_s": 2.0, "connect_timeout_s": 3.0, "rotating": False,
                       "configured": True, "deliveries": {"delivered": 1}}]
    assert "whsec" not in run("webhooks", "list")
    with transaction(runtime.engine) as session:
        audit = session.execute(select(AuditRecord)).scalar_one()
    assert (audit.actor, audit.action) == ("alice", "webhook_redeliver")


def test_redeliver_refuses_an_unknown_event(runtime, with_webhooks):
    # given
    with_webhooks("http://127.0.0.1:1/hooks")
    # when
    result = CliRunner().invoke(main, ["webhooks", "redeliver",
                                       "00000000-0000-4000-8000-000000000000"])
    # then
    assert result.exit_code == 2
    assert "no event with id" in result.output
