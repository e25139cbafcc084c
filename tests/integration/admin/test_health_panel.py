"""The dashboard's provider health panel: breaker, outcome shares and p95 over the last 15 min."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.conftest import scripted_instance
from tests.integration.admin.support import VIEWER_TOKEN, in_review, settled
from tests.integration.admin.test_auth import sign_in
from worker.admin import queries
from worker.domain.types import Outcome
from worker.process.db import transaction

pytestmark = pytest.mark.integration


@pytest.fixture
def providers():
    return {name: scripted_instance(name) for name in ("scripted-a", "scripted-b")}


def checks_of_the_last_minutes(runtime) -> None:
    """scripted-a: three answers settled and one disagreeing in the window, latencies 100,
    200, 300 and 4000 ms; and one more settled answer from 20 minutes ago, out of the window."""
    for n in range(3):
        settled(runtime, tx_id=f"ok-{n}")
    in_review(runtime, tx_id="odd")
    settled(runtime, tx_id="long-ago", outcome=Outcome.FAILED)
    with transaction(runtime.engine) as session:
        session.execute(text(
            "UPDATE checks SET latency_ms = CASE id % 4 WHEN 1 THEN 100 WHEN 2 THEN 200 "
            "WHEN 3 THEN 300 ELSE 4000 END"))
        session.execute(text(
            "UPDATE checks SET checked_at = now() - interval '20 minutes' "
            "WHERE transfer_id = (SELECT id FROM transfers WHERE tx_id = 'long-ago')"))


def test_the_health_query_counts_the_window_by_instance_and_outcome(runtime):
    # given checks in the window and one older
    checks_of_the_last_minutes(runtime)

    # when the panel's query runs
    with transaction(runtime.engine) as session:
        health = queries.provider_health(session, datetime.now(UTC))

    # then only the window's four checks count, shares add up, p95 is the slowest of four
    assert set(health) == {"scripted-a"}
    found = health["scripted-a"]
    assert found.checks == 4
    assert found.outcomes == {"SUCCEEDED": 3, "MISMATCH": 1}
    assert found.share("SUCCEEDED") == 0.75 and found.share("RETRY") == 0
    assert found.p95_ms == 4000


def test_the_dashboard_shows_each_instance_breaker_outcomes_and_p95(runtime, client):
    # given checks of scripted-a, whose breaker is open, and none of scripted-b
    checks_of_the_last_minutes(runtime)
    runtime.redis.set("resolver:breaker:scripted-a:open_until", repr(time.time() + 40))

    # when a viewer opens the dashboard
    sign_in(client, VIEWER_TOKEN)
    page = client.get("/").text

    # then the panel has a row per instance with what it knows of each
    panel = page[page.index('id="health-h"'):]
    panel = panel[:panel.index("</table>")]
    assert "last 15 min" in panel
    rows = {re.search(r'<th scope="row">([^<]+)</th>', row).group(1): row  # type: ignore[union-attr]
            for row in panel.split("<tr>")[2:]}
    assert set(rows) == {"scripted-a", "scripted-b"}
    a, b = rows["scripted-a"], rows["scripted-b"]
    assert "breaker-open" in a and re.search(r"open</span> (3\d|40) s left", a)
    assert re.search(r"SUCCEEDED</span> 75%", a) and re.search(r"MISMATCH</span> 25%", a)
    assert '<td class="num">4</td>' in a and '<td class="num">4 s</td>' in a
    assert "breaker-closed" in b and "no checks" in b and '<td class="num">—</td>' in b


def test_a_breaker_past_its_cooldown_is_half_open_and_redis_down_is_said(runtime, client,
                                                                         monkeypatch):
    # given scripted-a's breaker past its cooldown, the probe not yet answered
    runtime.redis.set("resolver:breaker:scripted-a:open_until",
                      repr((datetime.now(UTC) - timedelta(seconds=5)).timestamp()))
    sign_in(client, VIEWER_TOKEN)

    # when / then the panel says half open
    assert "breaker-half_open" in client.get("/").text

    # given Redis cannot be reached
    from worker.engine.check import throttle

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(throttle, "breaker_states", down)

    # when the page is asked for
    answer = client.get("/")
    # then it still renders, and says the breaker is unknown
    assert answer.status_code == 200
    assert "unknown (Redis unreachable)" in answer.text
