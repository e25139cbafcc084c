"""Needs-review transfers, and pending ones past a threshold, grouped by instance and cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.conftest import scripted_instance
from tests.integration.admin.support import H, M, a_mixed_queue
from worker.admin import review_queries
from worker.admin.review_queries import CauseGroup
from worker.process.db import transaction

pytestmark = pytest.mark.integration


@pytest.fixture
def providers():
    return {name: scripted_instance(name) for name in ("scripted-a", "scripted-b")}


def test_groups_count_total_per_currency_and_date_the_oldest(runtime):
    # given a queue mixing causes, instances, currencies, young and old pending, final ones
    now = datetime.now(UTC)
    a_mixed_queue(runtime, now)

    # when the groups are read with the default threshold of an hour
    with transaction(runtime.engine) as session:
        groups = review_queries.review_groups(session, now)

    # then review comes first, biggest group first; young pending and final transfers are left
    # out; each group has its count, totals per currency and its oldest registration
    summary = [(g.provider, g.state, g.cause, g.count, g.totals, g.oldest) for g in groups]
    assert summary == [
        ("scripted-a", "needs_review", "auth", 3,
         {"EUR": Decimal("5.5000"), "USD": Decimal("12.2500")}, now - 3 * H),
        ("scripted-a", "needs_review", "amount_mismatch", 1, {"USD": Decimal("7.0000")},
         now - 10 * M),
        ("scripted-b", "needs_review", "max_age", 1, {"USD": Decimal("100.0000")},
         now - 96 * H),
        ("scripted-b", "pending", "unchecked", 2,
         {"EUR": Decimal("3.0000"), "USD": Decimal("1.0000")}, now - 2 * H),
        ("scripted-a", "pending", "provider_pending", 1, {"USD": Decimal("1.0000")},
         now - 5 * H),
    ]
    # and each carries its cause's words and the bulk actions that apply to it
    assert groups[0].label == "credentials refused" and "secret" in groups[0].advice
    assert groups[0].bulk_actions == ("recheck", "resolve")
    assert groups[1].bulk_actions == ("recheck", "resolve", "settle_at_provider_amount")


def test_the_pending_threshold_is_a_parameter(runtime):
    # given the same queue
    now = datetime.now(UTC)
    a_mixed_queue(runtime, now)

    # when pending transfers count after 5 minutes, or only after 3 hours
    with transaction(runtime.engine) as session:
        early = review_queries.review_groups(session, now, timedelta(minutes=5))
        late = review_queries.review_groups(session, now, timedelta(hours=3))

    # then the young ones join their groups, or the middle-aged ones leave theirs
    def pending(groups: list[CauseGroup]) -> dict[tuple[str, str], int]:
        return {(g.provider, g.cause): g.count for g in groups if g.state == "pending"}

    assert pending(early) == {("scripted-b", "unchecked"): 3, ("scripted-a", "unchecked"): 1,
                              ("scripted-a", "provider_pending"): 1}
    assert pending(late) == {("scripted-a", "provider_pending"): 1}
    # while review counts whatever the threshold
    assert sum(g.count for g in late if g.state == "needs_review") == 5


def test_nothing_waiting_gives_no_group(runtime):
    # when / then
    with transaction(runtime.engine) as session:
        assert review_queries.review_groups(session, datetime.now(UTC)) == []
