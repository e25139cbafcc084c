"""The dashboard's oldest unsettled transfers, and the API reference at /docs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from models import Transfer
from tests.integration.admin.support import VIEWER_TOKEN, bearer, in_review
from tests.integration.admin.test_auth import sign_in
from tests.integration.support import register
from worker.engine.intake import service
from worker.process.db import transaction

pytestmark = pytest.mark.integration


def aged(runtime, transfer_id: int, age: timedelta) -> None:
    with transaction(runtime.engine) as session:
        session.execute(update(Transfer).where(Transfer.id == transfer_id)
                        .values(created_at=datetime.now(UTC) - age))


def oldest_card(html: str) -> str:
    found = re.search(r'<section class="card" aria-labelledby="oldest-h">(.*?)</section>', html,
                      re.S)
    assert found, "no oldest-unsettled card"
    return found.group(1)


def test_the_dashboard_names_the_oldest_of_each_open_state(runtime, client):
    # given one transfer in review (2 h old), one in flight and none pending
    review = in_review(runtime)
    aged(runtime, review, timedelta(hours=2))
    flying = int(service.begin(runtime, {"provider": "scripted-a", "tx_id": "in-air",
                                     "direction": "deposit", "player_id": "p-1",
                                     "amount": "5", "currency": "USD"}, by="wallet")["id"])
    # when a viewer opens the dashboard
    sign_in(client, VIEWER_TOKEN)
    card = oldest_card(client.get("/").text)
    # then it does not say nothing is pending: it names both, with their age and a link
    assert "Nothing" not in card
    assert f'href="/transfers/{review}"' in card and f'href="/transfers/{flying}"' in card
    assert "needs review" in card and "in flight" in card and "2 h" in card
    assert card.index("in flight") < card.index("needs review")


def test_the_dashboard_takes_the_oldest_of_a_state(runtime, client):
    # given
    newer, older = register(runtime, tx_id="newer"), register(runtime, tx_id="older")
    aged(runtime, newer, timedelta(minutes=5))
    aged(runtime, older, timedelta(minutes=50))
    # when a viewer opens the dashboard
    sign_in(client, VIEWER_TOKEN)
    card = oldest_card(client.get("/").text)
    # then
    assert f'href="/transfers/{older}"' in card and f'href="/transfers/{newer}"' not in card
    assert "50 min" in card


def test_an_empty_queue_says_so(runtime, client):
    # given
    sign_in(client, VIEWER_TOKEN)
    # when / then
    assert "Nothing is in flight, pending or in review." in oldest_card(client.get("/").text)


def test_docs_send_strangers_to_sign_in(client):
    # when
    answer = client.get("/docs", follow_redirects=False)
    # then
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fdocs"
    # when / then the schema too
    assert client.get("/docs/openapi.json", follow_redirects=False).status_code == 303


def test_docs_are_served_from_this_machine_to_a_signed_in_person(client):
    # given
    sign_in(client, VIEWER_TOKEN)
    # when
    page = client.get("/docs")
    # then
    assert page.status_code == 200
    # Every script and style comes from this server, none from a CDN
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and asset.content, source
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    # when / then the schema it reads is the API's, the same the bearer-token route serves
    schema = client.get("/docs/openapi.json").json()
    assert "/api/v1/transfers" in schema["paths"]
    assert schema == client.get("/openapi.json", headers=bearer(VIEWER_TOKEN)).json()
    # when / then no path leads out of the assets
    assert client.get("/docs/assets/..%2Fsecret").status_code == 404
