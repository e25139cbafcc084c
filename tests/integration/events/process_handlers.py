"""Handlers for `resolver events consume --handler` in a child process.

They write what they do to a Redis list, so the test can watch the child from outside.
"""

from __future__ import annotations

import os
import time

import redis

from resolver_consumer import ReceivedEvent


def record(event: ReceivedEvent) -> None:
    """Record the start, stall on the transfer named by TEST_HANG_ON, record the end."""
    client = redis.Redis.from_url(os.environ["RESOLVER_REDIS_URL"])
    log = os.environ["TEST_RECORD_KEY"]
    client.rpush(log, f"start:{event.id}")
    if event.data["tx_id"] == os.environ.get("TEST_HANG_ON"):
        time.sleep(120)  # stands for a handler stuck when the process is killed
    time.sleep(float(os.environ.get("TEST_HANDLER_SECONDS", "0")))
    client.rpush(log, f"done:{event.id}")
