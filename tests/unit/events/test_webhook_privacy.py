"""A subscriber URL may carry a token: it stays out of the attempt log and the listing."""

from __future__ import annotations

import requests

from worker.webhooks.config import Subscriber
from worker.webhooks.delivery import post

TOKENED = Subscriber(name="finance", url="http://127.0.0.1:1/hooks/in?token=t0k3n-abc123",
                     secret="s" * 32, connect_timeout_s=0.5)


def test_a_failed_post_logs_the_host_but_not_the_path_or_query():
    with requests.Session() as http:
        response = post(http, TOKENED, "event-1", "transfer.resolved", b"{}")
    assert response.http_status is None
    assert response.error is not None
    assert "t0k3n-abc123" not in response.error
    assert "/hooks/in" not in response.error
    assert "127.0.0.1" in response.error


def test_the_listing_hides_the_query_string():
    shown = TOKENED.describe()
    assert shown["url"] == "http://127.0.0.1:1/hooks/in?…"
    assert "secret" not in shown
