"""The groups of what waits for a person on each surface: the API, `resolver review` and the
dashboard, against the real Postgres."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

from tests.conftest import scripted_instance
from tests.integration.admin.support import (
    OPERATOR_TOKEN,
    VIEWER_TOKEN,
    a_mixed_queue,
    bearer,
    left,
)
from tests.integration.admin.test_auth import sign_in
from worker.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def providers():
    return {name: scripted_instance(name) for name in ("scripted-a", "scripted-b")}


# The API

def test_a_viewer_reads_the_groups_with_money_as_strings_and_their_links(runtime, client):
    # given a mixed queue
    a_mixed_queue(runtime, datetime.now(UTC))

    # when a viewer asks for the groups
    answer = client.get("/api/v1/review", headers=bearer(VIEWER_TOKEN))

    # then each group has its counts, totals as strings, the oldest, and where to go next
    assert answer.status_code == 200
    body = answer.json()
    assert body["pending_older_than_s"] == 3600
    auth, amount, _, unchecked, _ = body["groups"]
    assert {k: auth[k] for k in ("provider", "state", "cause", "label", "count", "totals")} == {
        "provider": "scripted-a", "state": "needs_review", "cause": "auth",
        "label": "credentials refused", "count": 3,
        "totals": {"EUR": "5.5000", "USD": "12.2500"}}
    assert 3 * 3600 - 60 < auth["oldest_age_s"] < 3 * 3600 + 60
    assert auth["transfers_url"] == (
        "/api/v1/transfers?provider=scripted-a&state=needs_review&cause=auth")
    assert [hint["action"] for hint in auth["bulk"]] == ["recheck", "resolve"]
    assert auth["bulk"][0]["page"] == (
        "/bulk?action=recheck&provider=scripted-a&state=needs_review&cause=auth")
    assert [hint["action"] for hint in amount["bulk"]] == [
        "recheck", "resolve", "settle_at_provider_amount"]
    # and a pending group's links keep to the transfers it counted
    assert unchecked["transfers_url"] == (
        "/api/v1/transfers?provider=scripted-b&state=pending&cause=unchecked&older_than=1h")
    path, _, query = unchecked["bulk"][1]["page"].partition("?")
    cut_off = datetime.fromisoformat(body["generated_at"]) - timedelta(hours=1)
    assert (path, parse_qs(query)) == ("/bulk", {
        "action": ["resolve"], "provider": ["scripted-b"], "state": ["pending"],
        "cause": ["unchecked"], "registered_before": [cut_off.replace(microsecond=0).isoformat()]})


def test_the_threshold_comes_from_the_query_and_a_bad_one_is_refused(runtime, client):
    # given a queue whose only old pending transfers are 90 minutes to 5 hours old
    a_mixed_queue(runtime, datetime.now(UTC))

    # when pending counts only after 4 hours, then with a threshold that is not a duration
    late = client.get("/api/v1/review?pending_older_than=4h", headers=bearer(OPERATOR_TOKEN))
    bad = client.get("/api/v1/review?pending_older_than=soon", headers=bearer(OPERATOR_TOKEN))

    # then only the 5-hour-old one remains pending, and the bad one is named
    assert late.status_code == 200
    assert [(g["cause"], g["count"]) for g in late.json()["groups"]
            if g["state"] == "pending"] == [("provider_pending", 1)]
    assert bad.status_code == 422
    assert bad.json()["field"] == "pending_older_than"


def test_strangers_get_nothing_and_openapi_documents_the_shape(client):
    # when / then a stranger gets nothing
    assert client.get("/api/v1/review").status_code == 401
    # when the schema is read
    schema = client.get("/openapi.json", headers=bearer(VIEWER_TOKEN)).json()
    operation = schema["paths"]["/api/v1/review"]["get"]
    # then
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReviewOut"}
    group = schema["components"]["schemas"]["CauseGroupOut"]["properties"]
    assert {"totals", "oldest_age_s", "transfers_url", "bulk"} <= set(group)


# The command line

def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_review_prints_a_table_within_100_columns_with_each_groups_command(runtime):
    # given a mixed queue, and one more instance whose name is far too long for a column
    a_mixed_queue(runtime, datetime.now(UTC))
    long_name = "scripted-a-with-a-name-much-longer-than-any-column-should-be-x"
    runtime.providers[long_name] = scripted_instance(long_name)
    left(runtime, "long", provider=long_name, state="needs_review", outcome="AUTH_ERROR",
         reason="provider refused our credentials or request; a person must act")

    # when an admin runs `resolver review`
    lines = run("review").splitlines()

    # then no line is wider than 100 columns
    assert max(len(line) for line in lines) <= 100
    # and each group has its line: instance, state, cause, count, total and the oldest's age
    assert lines[0].split() == ["INSTANCE", "STATE", "CAUSE", "COUNT", "TOTAL", "OLDEST"]
    auth = lines.index(next(line for line in lines if "credentials refused" in line
                            and line.startswith("scripted-a ")))
    assert re.fullmatch(r"scripted-a\s+review\s+credentials refused\s+3\s+5\.5000 EUR\s+3 h",
                        lines[auth])
    assert lines[auth + 1].split() == ["12.2500", "USD"]  # a further currency, below
    # and under it the command that rechecks the whole group, ready for a reason
    assert lines[auth + 2] == ('  $ resolver recheck --provider scripted-a --state '
                               'needs_review --cause auth --reason "..."')
    # a name too long for the table is cut there, but whole in its command
    assert any(line.startswith("scripted-a-with-a-name-") and "…" in line for line in lines)
    assert f"--provider {long_name}" in "\n".join(lines)


def test_review_json_is_the_api_shape_and_a_bad_threshold_exits_2(runtime):
    # given a mixed queue
    a_mixed_queue(runtime, datetime.now(UTC))

    # when the groups are asked for as JSON, with a threshold of 100 minutes
    body = json.loads(run("review", "--json", "--pending-older-than", "100m"))

    # then they are the API's groups: the 90-minute-old pending one is left out now
    assert body["pending_older_than_s"] == 6000
    unchecked = next(g for g in body["groups"] if g["cause"] == "unchecked")
    assert (unchecked["count"], unchecked["totals"]) == (1, {"USD": "1.0000"})
    # and a threshold that is not a duration is refused, naming the field
    assert "pending_older_than" in run("review", "--pending-older-than", "later", code=2)


def test_review_says_so_when_nothing_waits(runtime):
    # when / then
    assert run("review").startswith("nothing waits for a person")


# The dashboard

def test_the_dashboard_lists_the_groups_with_their_links(runtime, client):
    # given a mixed queue
    a_mixed_queue(runtime, datetime.now(UTC))

    # when a viewer opens the dashboard
    sign_in(client, VIEWER_TOKEN)
    page = client.get("/").text

    # then the section lists each group, linked to its transfers and its bulk actions
    section = page[page.index('id="causes-h"'):]
    section = section[:section.index("</section>")]
    assert "Waiting for a person, by cause" in section
    rows = {re.search(r'data-cause="([a-z_]+)"><th scope="row">([^<]+)<', row).groups(): row
            for row in section.split("<tr")[2:]}  # type: ignore[union-attr]
    assert set(rows) == {("auth", "scripted-a"), ("amount_mismatch", "scripted-a"),
                         ("max_age", "scripted-b"), ("unchecked", "scripted-b"),
                         ("provider_pending", "scripted-a")}
    auth = rows[("auth", "scripted-a")]
    assert ('<a href="/transfers?provider=scripted-a&amp;state=needs_review&amp;cause=auth">3'
            '</a>') in auth
    assert "5.5000 EUR<br>12.2500 USD" in auth
    assert ('<a href="/bulk?action=recheck&amp;provider=scripted-a&amp;state=needs_review'
            '&amp;cause=auth">recheck all</a>') in auth
    assert '<a href="/bulk?action=resolve&amp;provider=scripted-a' in auth
    assert "settle all at the provider" in rows[("amount_mismatch", "scripted-a")]
    assert "older_than=1h" in rows[("unchecked", "scripted-b")]
