"""Signing webhook requests per the Standard Webhooks specification, and checking them.

Every delivery carries three headers:

    webhook-id:         the CloudEvents id, the same on every retry: a receiver de-duplicates on it
    webhook-timestamp:  unix seconds when this attempt was signed
    webhook-signature:  `v1,<base64 HMAC-SHA256>` over "{webhook-id}.{webhook-timestamp}.{body}";
                        while a secret is rotated, one such entry per secret, space separated

The signature covers the id, the time and the body: a receiver that refuses old timestamps is
safe from replays of a captured request, and one that keeps the ids it handled is safe from our
own retries. A secret is `whsec_` followed by the base64 of 24 to 64 random bytes, the form the
specification's libraries take as it is.

The HMAC is computed by the `standardwebhooks` library, so what we send is what that project's
library verifies in any language, and this module keeps no crypto of its own.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)  # the specification's bounds for a symmetric key
DEFAULT_TOLERANCE_S = 300


class SignatureError(Exception):
    """The request is not signed by someone holding the secret, or it is too old."""


def secret_problem(secret: str) -> str | None:
    """Why `secret` cannot sign, or None. The message never repeats the value."""
    if not secret.startswith(SECRET_PREFIX):
        return (f"must start with {SECRET_PREFIX} followed by base64 (generate one with "
                f"`python -m worker.webhooks.signing`)")
    try:
        key = _key(secret)
    except binascii.Error:
        return f"the part after {SECRET_PREFIX} is not valid base64"
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        return f"must encode {low} to {high} bytes, not {len(key)}"
    return None


def new_secret() -> str:
    """A fresh secret of 32 random bytes, in the `whsec_` form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 hmac_sha256(key, f"{msg_id}.{timestamp}.{body}")>`, by the library."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # The library signs text; our bodies are JSON, so never reach here.
        raise SignatureError("the body is not UTF-8") from None
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), text)


def signed_headers(secrets: Sequence[str], msg_id: str, body: bytes,
                   timestamp: int | None = None) -> dict[str, str]:
    """The three headers, with one signature per secret (the current one first)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets),
    }


def verify(secret: str | Sequence[str], headers: Mapping[str, str], body: bytes,
           tolerance_s: float = DEFAULT_TOLERANCE_S, now: float | None = None) -> None:
    """Check a received request; raise SignatureError unless it is genuine and recent.

    `secret` is the receiver's `whsec_…` secret, or several while the receiver rotates its own
    side. `headers` may be any mapping (names matched without regard to case); `body` must be
    the raw bytes as received, before any JSON parsing. The library's own `Webhook.verify` does
    the same with a fixed five-minute window; this one takes the window (and the clock, for
    tests) as arguments and compares against the library's signature.
    """
    found = {name.lower(): value for name, value in headers.items()}
    msg_id = found.get(ID_HEADER)
    timestamp_text = found.get(TIMESTAMP_HEADER)
    offered = found.get(SIGNATURE_HEADER)
    if not msg_id or not timestamp_text or not offered:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise SignatureError("webhook-timestamp is not unix seconds") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(f"webhook-timestamp is more than {tolerance_s:g}s away from now")
    keys = [secret] if isinstance(secret, str) else list(secret)
    expected = [sign(key, msg_id, timestamp, body).encode() for key in keys]
    candidates = [part.encode("utf-8", "replace") for part in offered.split(" ") if part]
    # Every pair is compared in constant time; unknown versions (v1a, …) simply never match.
    if not any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in candidates):
        raise SignatureError("no signature matches")


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)


if __name__ == "__main__":
    print(new_secret())
