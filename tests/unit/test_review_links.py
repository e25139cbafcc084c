"""Where a group of transfers waiting for a person leads: its list, its bulk preview, its
command. Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from worker.admin import review_queries
from worker.admin.review_queries import CauseGroup
from worker.domain.refusal import InvalidInput

NOW = datetime(2026, 12, 3, 12, 0, 30, 250000, tzinfo=UTC)


def group(state: str = "needs_review", cause: str = "auth", provider: str = "pay-eu"
          ) -> CauseGroup:
    return CauseGroup(provider, state, cause, "label", "advice", 2, {"USD": Decimal("3")},
                      NOW - timedelta(hours=2))


@pytest.mark.parametrize(("age", "text"), [
    (timedelta(hours=1), "1h"), (timedelta(minutes=90), "90m"), (timedelta(days=2), "2d"),
    (timedelta(seconds=45), "45s"), (timedelta(milliseconds=1500), "1500ms")])
def test_a_threshold_reads_back_as_the_filters_write_it(age: timedelta, text: str) -> None:
    # when / then
    assert review_queries.duration_text(age) == text
    assert review_queries.stuck_after(text) == age


def test_the_threshold_defaults_to_an_hour_and_a_bad_one_names_its_field() -> None:
    # when / then
    assert review_queries.stuck_after("") == timedelta(hours=1)
    with pytest.raises(InvalidInput) as refused:
        review_queries.stuck_after("a while")
    assert refused.value.field == "pending_older_than"


def test_a_review_group_leads_to_its_list_bulk_page_and_command() -> None:
    # given
    g = group()
    cut_off = NOW - timedelta(hours=1)
    # when / then
    assert review_queries.transfers_url(g, timedelta(hours=1)) == (
        "/api/v1/transfers?provider=pay-eu&state=needs_review&cause=auth")
    assert review_queries.bulk_url(g, "resolve", cut_off) == (
        "/bulk?action=resolve&provider=pay-eu&state=needs_review&cause=auth")
    assert review_queries.recheck_command(g, cut_off) == (
        'resolver recheck --provider pay-eu --state needs_review --cause auth --reason "..."')


def test_a_pending_group_keeps_to_the_transfers_it_counted() -> None:
    # given
    g = group("pending", "unchecked")
    # when / then
    assert review_queries.transfers_url(g, timedelta(minutes=30), base="/transfers") == (
        "/transfers?provider=pay-eu&state=pending&cause=unchecked&older_than=30m")
    assert review_queries.recheck_command(g, NOW - timedelta(minutes=30)) == (
        "resolver recheck --provider pay-eu --state pending --cause unchecked "
        '--registered-before 2026-12-03T11:30:30+00:00 --reason "..."')


def test_an_odd_instance_name_is_quoted_for_the_shell() -> None:
    # when
    command = review_queries.recheck_command(group(provider="eu pay;x"), NOW)
    # then
    assert "--provider 'eu pay;x' --state" in command


def test_only_an_amount_mismatch_can_be_settled_at_the_providers_amount() -> None:
    # when / then
    assert review_queries.bulk_actions("amount_mismatch") == (
        "recheck", "resolve", "settle_at_provider_amount")
    assert review_queries.bulk_actions("record_mismatch") == ("recheck", "resolve")
