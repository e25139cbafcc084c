"""Signing webhook requests, and checking them on the receiving side.

The signature is HMAC-SHA256 with the subscriber's secret over `"{timestamp}.{body}"`, so it
covers both the body and the time it was sent: a receiver that rejects old timestamps is safe
from replays of a captured request, and one that keeps the event ids it handled is safe from
our own retries.

    X-Resolver-Event-Id:   the CloudEvents id, the same on every retry (not signed: for logs
                           and routing; de-duplicate on the `id` in the signed body)
    X-Resolver-Timestamp:  unix seconds when this attempt was signed
    X-Resolver-Signature:  v1=<hex digest>  (several, comma separated, are accepted by `verify`)

Standard library only: a receiver may copy this file rather than install the service.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

EVENT_ID_HEADER = "X-Resolver-Event-Id"
TIMESTAMP_HEADER = "X-Resolver-Timestamp"
SIGNATURE_HEADER = "X-Resolver-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureError(Exception):
    """The request is not signed by someone holding the secret, or it is too old."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex hmac_sha256(secret, f"{timestamp}.{body}")>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={digest.hexdigest()}"


def signed_headers(secret: str, event_id: str, body: bytes,
                   timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes,
           tolerance_s: float = DEFAULT_TOLERANCE_S, now: float | None = None) -> None:
    """Check a received request; raise SignatureError unless it is genuine and recent.

    `headers` may be any mapping (names are matched without regard to case); `body` must be
    the raw bytes as received, before any JSON parsing. The event id header is not signed:
    de-duplicate on the `id` inside the verified body.
    """
    found = {name.lower(): value for name, value in headers.items()}
    timestamp_text = found.get(TIMESTAMP_HEADER.lower())
    signatures = found.get(SIGNATURE_HEADER.lower())
    if not timestamp_text or not signatures:
        raise SignatureError("missing signature or timestamp header")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise SignatureError("timestamp is not unix seconds") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"timestamp is more than {tolerance_s:g}s away from now")
    expected = sign(secret, timestamp, body)
    offered = [part.strip() for part in signatures.split(",")]
    # Compare every candidate in constant time; a secret being rotated may send two.
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise SignatureError("signature does not match")
