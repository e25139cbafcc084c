"""Standard Webhooks signatures: what we send is what the library verifies, and `verify` refuses
anything else."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from worker.webhooks.signing import (
    SignatureError,
    new_secret,
    secret_problem,
    sign,
    signed_headers,
    verify,
)

# base64 of b"new-secret-for-tests-32-bytes!!" and b"old-…" (31 bytes each)
NEW = "whsec_bmV3LXNlY3JldC1mb3ItdGVzdHMtMzItYnl0ZXMhIQ=="
OLD = "whsec_b2xkLXNlY3JldC1mb3ItdGVzdHMtMzItYnl0ZXMhIQ=="
BODY = b'{"id":"e1"}'
NOW = 1_700_000_000


def test_the_specifications_test_vector():
    # given the key, id, time and payload the specification's libraries publish as a vector
    key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    # when signed
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    # then the published signature comes out
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_headers_name_the_event_the_time_and_the_signature():
    # when
    headers = signed_headers([NEW], "e1", BODY, timestamp=NOW)
    # then
    assert headers == {"webhook-id": "e1", "webhook-timestamp": str(NOW),
                       "webhook-signature": sign(NEW, "e1", NOW, BODY)}
    assert headers["webhook-signature"].startswith("v1,")


def test_the_librarys_own_verification_accepts_what_we_send():
    # given headers signed now (the library checks against the real clock)
    headers = signed_headers([NEW], "e1", BODY)
    # when / then a receiver verifying with the standardwebhooks library alone passes
    assert Webhook(NEW).verify(BODY, headers) == {"id": "e1"}
    # when / then a tampered body does not
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(b'{"id":"e2"}', headers)


def test_our_verify_accepts_what_the_library_signs():
    # given a signature made by the library itself (a sender other than us)
    library = Webhook(NEW)
    signature = library.sign("e1", datetime.fromtimestamp(NOW, UTC), BODY.decode())
    headers = {"webhook-id": "e1", "webhook-timestamp": str(NOW), "webhook-signature": signature}
    # when / then verified here, it passes
    verify(NEW, headers, BODY, now=NOW)


def test_during_rotation_a_receiver_with_either_secret_verifies():
    # given a delivery signed with the new and the previous secret
    headers = signed_headers([NEW, OLD], "e1", BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    # when / then a receiver with only the old secret, or already only the new one, verifies:
    # both pass, with our helper and with the library
    for secret in (OLD, NEW):
        verify(secret, headers, BODY)
        Webhook(secret).verify(BODY, headers)
    # when / then one with neither does not
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(new_secret(), headers, BODY)


def test_a_receiver_rotating_its_own_side_may_hold_several_secrets():
    # given
    headers = signed_headers([NEW], "e1", BODY, timestamp=NOW)
    # when / then it passes
    verify([OLD, NEW], headers, BODY, now=NOW)


def test_a_genuine_recent_request_verifies_whatever_the_header_case():
    # given
    headers = {name.title(): value for name, value in
               signed_headers([NEW], "e1", BODY, timestamp=NOW).items()}
    # when / then it passes
    verify(NEW, headers, BODY, now=NOW + 299)


@pytest.mark.parametrize("body, secret, now", [
    (b'{"id":"e2"}', NEW, NOW),  # tampered body
    (BODY, OLD, NOW),  # signed with another key
    (BODY, NEW, NOW + 301),  # older than five minutes: a replay
    (BODY, NEW, NOW - 301),  # from the future
])
def test_anything_else_is_refused(body, secret, now):
    # given
    headers = signed_headers([NEW], "e1", BODY, timestamp=NOW)
    # when / then
    with pytest.raises(SignatureError):
        verify(secret, headers, body, now=now)


def test_the_window_is_the_receivers_choice():
    # given
    headers = signed_headers([NEW], "e1", BODY, timestamp=NOW)
    # when / then a wider window lets it pass
    verify(NEW, headers, BODY, tolerance_s=900, now=NOW + 600)
    # when / then a narrower one refuses it
    with pytest.raises(SignatureError, match="60s away"):
        verify(NEW, headers, BODY, tolerance_s=60, now=NOW + 61)


def test_an_old_timestamp_fails_with_the_library_too():
    # given
    headers = signed_headers([NEW], "e1", BODY, timestamp=int(time.time()) - 301)
    # when / then
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(BODY, headers)


@pytest.mark.parametrize("header, value", [
    ("webhook-timestamp", str(NOW + 10)),  # the time is signed
    ("webhook-id", "e2"),  # so is the id
])
def test_a_changed_signed_header_breaks_the_signature(header, value):
    # given
    headers = signed_headers([NEW], "e1", BODY, timestamp=NOW)
    headers[header] = value
    # when / then
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(NEW, headers, BODY, now=NOW)


def test_missing_or_malformed_headers_are_refused():
    # given
    headers = signed_headers([NEW], "e1", BODY, timestamp=NOW)
    # when / then
    for name in headers:
        with pytest.raises(SignatureError, match="missing"):
            verify(NEW, {k: v for k, v in headers.items() if k != name}, BODY, now=NOW)
    with pytest.raises(SignatureError, match="unix seconds"):
        verify(NEW, {**headers, "webhook-timestamp": "yesterday"}, BODY, now=NOW)


def test_unknown_signature_versions_are_skipped():
    # given
    headers = signed_headers([NEW], "e1", BODY, timestamp=NOW)
    headers["webhook-signature"] = f"v1a,AAAA v1,AAAA {headers['webhook-signature']}"
    # when / then the v1 signature is found and passes
    verify(NEW, headers, BODY, now=NOW)


@pytest.mark.parametrize("secret, problem", [
    ("plain-old-shared-secret-string", "must start with whsec_"),
    ("whsec_not base64!", "not valid base64"),
    ("whsec_c2hvcnQ=", "24 to 64 bytes, not 5"),
    ("whsec_" + "QUFB" * 22, "24 to 64 bytes, not 66"),
])
def test_a_secret_must_be_whsec_base64_of_24_to_64_bytes(secret, problem):
    # when
    message = secret_problem(secret)
    # then
    assert message is not None and problem in message
    assert secret.removeprefix("whsec_") not in message


def test_good_secrets_pass_including_unpadded_and_new_ones():
    # when / then
    assert secret_problem(NEW) is None
    assert secret_problem(NEW.rstrip("=")) is None
    fresh = new_secret()
    assert secret_problem(fresh) is None and fresh != new_secret()
