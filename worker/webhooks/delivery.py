"""One delivery attempt: POST the signed event, log the attempt, take the next schedule step.

The POST happens outside any transaction (a slow subscriber must not hold row locks); the
outcome is then recorded under the claim's lease token. The attempt is logged even if the lease
was lost meanwhile, because the request was made; the delivery row is only changed by the
holder of the lease.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import Engine, text

from models import WebhookAttempt
from worker.metrics import engine as metrics
from worker.process import logs
from worker.process.db import transaction
from worker.webhooks.claims import DeliveryClaim
from worker.webhooks.config import Subscriber
from worker.webhooks.schedule import wait_after
from worker.webhooks.signing import signed_headers

log = logs.get(__name__)

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
USER_AGENT = "transfer-resolver-webhooks/1"
EXCERPT_BYTES = 300

LEASED = text(
    """
    SELECT d.subscriber, d.attempts, o.id AS event_id, o.type, o.payload, o.transfer_id
    FROM webhook_deliveries d JOIN outbox_events o ON o.id = d.event_id
    WHERE d.id = :id AND d.lease_token = :token AND d.status = 'pending'
    """
)

RECORD = text(
    """
    UPDATE webhook_deliveries
    SET status = :status, attempts = :attempts, next_attempt_at = :next_attempt_at,
        lease_token = NULL, last_attempt_at = :now, last_http_status = :http_status,
        last_error = :error, delivered_at = :delivered_at, updated_at = :now
    WHERE id = :id AND lease_token = :token
    """
)


@dataclass(frozen=True)
class Response:
    """What one POST came to: a 2xx is success; anything else, or no answer, is a failure."""

    http_status: int | None
    latency_ms: int
    error: str | None

    @property
    def accepted(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def body_of(payload: dict[str, Any]) -> bytes:
    """The CloudEvent as sent: compact, keys sorted, the same bytes on every retry."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def post(http: requests.Session, subscriber: Subscriber, event_id: str, event_type: str,
         body: bytes) -> Response:
    headers = {
        "Content-Type": CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        "X-Resolver-Event-Type": event_type,
        # webhook-id is the event's id, the same on every retry, for receivers to de-duplicate.
        **signed_headers(subscriber.signing_secrets(), event_id, body),
    }
    started = time.monotonic()
    try:
        with http.post(subscriber.url, data=body, headers=headers, stream=True,
                       allow_redirects=False,
                       timeout=(subscriber.connect_timeout_s, subscriber.timeout_s)) as answer:
            status = answer.status_code
            # Read only the start of the answer: enough to explain a refusal, never a flood.
            excerpt = answer.raw.read(EXCERPT_BYTES, decode_content=True) or b""
    except requests.RequestException as exc:
        error = _hide_target(f"{type(exc).__name__}: {exc}", subscriber.url)
        return Response(None, _ms_since(started), error[:EXCERPT_BYTES])
    latency = _ms_since(started)
    if 200 <= status < 300:
        return Response(status, latency, None)
    reason = excerpt.decode("utf-8", "replace").strip()
    return Response(status, latency, f"HTTP {status}: {reason}"[:EXCERPT_BYTES])


def _hide_target(text: str, url: str) -> str:
    """A transport error names the URL it failed on, and a subscriber's URL may carry a token:
    the attempt log keeps only the host."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    for piece in (url, target):
        if piece not in ("", "/"):
            text = text.replace(piece, "/<subscriber path>")
    return text


def attempt(engine: Engine, subscribers: Mapping[str, Subscriber],
            schedule: tuple[timedelta, ...], claim: DeliveryClaim,
            http: requests.Session) -> str:
    """Make the claimed attempt; return its result: delivered, retrying, failed or stale."""
    with transaction(engine) as session:
        row = session.execute(LEASED, {"id": claim.delivery_id,
                                       "token": claim.lease_token}).one_or_none()
    if row is None:
        return "stale"  # delivered, redelivered or re-claimed since: not ours any more
    subscriber = subscribers.get(row.subscriber)
    if subscriber is None:
        # Removed from the file since the claim: leave it pending; the lease runs out.
        log.warning("webhook subscriber no longer configured", delivery_id=claim.delivery_id,
                    subscriber=row.subscriber, event_id=str(row.event_id))
        return "stale"
    response = post(http, subscriber, str(row.event_id), row.type, body_of(row.payload))
    result = record(engine, claim, row.attempts, response, schedule)
    metrics.count_webhook(subscriber.name, result)  # recorded and committed
    data = row.payload.get("data", {}) if isinstance(row.payload, dict) else {}
    log.info("webhook delivery attempted", transfer_id=row.transfer_id,
             provider=data.get("provider"), tx_id=data.get("tx_id"),
             outcome=data.get("outcome"), event_id=str(row.event_id), type=row.type,
             subscriber=subscriber.name, delivery_attempt=row.attempts + 1,
             http_status=response.http_status, latency_ms=response.latency_ms, result=result,
             delivery_id=claim.delivery_id)
    return result


def record(engine: Engine, claim: DeliveryClaim, failures_before: int, response: Response,
           schedule: tuple[timedelta, ...]) -> str:
    now = datetime.now(UTC)
    if response.accepted:
        result, failures, next_attempt_at = "delivered", failures_before, None
    else:
        failures = failures_before + 1
        wait = wait_after(failures, schedule)
        result = "retrying" if wait is not None else "failed"
        next_attempt_at = now + wait if wait is not None else None
    with transaction(engine) as session:
        session.add(WebhookAttempt(
            delivery_id=claim.delivery_id, attempted_at=now, http_status=response.http_status,
            latency_ms=response.latency_ms, error=response.error, result=result,
        ))
        updated = session.execute(RECORD, {
            "id": claim.delivery_id,
            "token": claim.lease_token,
            "status": "pending" if result == "retrying" else result,
            "attempts": failures,
            "next_attempt_at": next_attempt_at,
            "now": now,
            "http_status": response.http_status,
            "error": response.error,
            "delivered_at": now if result == "delivered" else None,
        }).rowcount  # type: ignore[attr-defined]
    if not updated:
        log.warning("webhook delivery lease lost during the attempt; attempt recorded only",
                    delivery_id=claim.delivery_id)
    return result


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def new_claim(delivery_id: int, lease_token: str) -> DeliveryClaim:
    """A claim rebuilt from a task message's arguments."""
    return DeliveryClaim(delivery_id, uuid.UUID(lease_token))
