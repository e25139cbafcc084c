"""The event tests keep to a Redis database of their own (14).

Their consumers block on the stream for seconds at a time; a FLUSHDB from another test run on
the shared database 15 would delete the stream under them.
"""

from __future__ import annotations

import pytest

EVENTS_REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture(autouse=True)
def _events_redis_database(monkeypatch: pytest.MonkeyPatch) -> None:
    # Autouse, so it runs before the `redis_client` and `runtime` fixtures read the variable.
    monkeypatch.setenv("RESOLVER_REDIS_URL", EVENTS_REDIS_URL)
