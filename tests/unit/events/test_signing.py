"""The webhook signature: HMAC-SHA256 over "{timestamp}.{body}", checked by `verify`."""

from __future__ import annotations

import pytest

from worker.webhooks.signing import SignatureError, sign, signed_headers, verify

SECRET = "whsec-known"
BODY = b'{"id":"e1"}'
NOW = 1_700_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # Computed independently: printf '1700000000.{"id":"e1"}' | openssl dgst -sha256 -hmac ...
    assert sign(SECRET, NOW, BODY) == (
        "v1=ab5340b8918c90760818d8401431bc843fdd859c6982dd48792e557789129597")


def test_signed_headers_name_the_event_time_and_signature():
    headers = signed_headers(SECRET, "e1", BODY, timestamp=NOW)
    assert headers == {"X-Resolver-Event-Id": "e1", "X-Resolver-Timestamp": str(NOW),
                       "X-Resolver-Signature": sign(SECRET, NOW, BODY)}


def test_a_genuine_recent_request_verifies_whatever_the_header_case():
    headers = {name.lower(): value for name, value in
               signed_headers(SECRET, "e1", BODY, timestamp=NOW).items()}
    verify(SECRET, headers, BODY, now=NOW + 299)


@pytest.mark.parametrize("body, secret, now", [
    (b'{"id":"e2"}', SECRET, NOW),  # tampered body
    (BODY, "another secret", NOW),  # signed with another key
    (BODY, SECRET, NOW + 301),  # older than five minutes: a replay
    (BODY, SECRET, NOW - 301),  # from the future
])
def test_anything_else_is_refused(body, secret, now):
    headers = signed_headers(SECRET, "e1", BODY, timestamp=NOW)
    with pytest.raises(SignatureError):
        verify(secret, headers, body, now=now)


def test_a_changed_timestamp_breaks_the_signature():
    headers = signed_headers(SECRET, "e1", BODY, timestamp=NOW)
    headers["X-Resolver-Timestamp"] = str(NOW + 10)
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, headers, BODY, now=NOW)


def test_missing_or_malformed_headers_are_refused():
    headers = signed_headers(SECRET, "e1", BODY, timestamp=NOW)
    for name in ("X-Resolver-Timestamp", "X-Resolver-Signature"):
        with pytest.raises(SignatureError):
            verify(SECRET, {k: v for k, v in headers.items() if k != name}, BODY, now=NOW)
    with pytest.raises(SignatureError, match="unix seconds"):
        verify(SECRET, {**headers, "X-Resolver-Timestamp": "yesterday"}, BODY, now=NOW)


def test_one_of_several_signatures_may_match():
    # While a secret is rotated, the sender may sign with the old and the new one.
    headers = signed_headers(SECRET, "e1", BODY, timestamp=NOW)
    headers["X-Resolver-Signature"] = f"v1=00ff, {headers['X-Resolver-Signature']}"
    verify(SECRET, headers, BODY, now=NOW)
