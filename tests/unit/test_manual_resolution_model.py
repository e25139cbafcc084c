"""The manual resolution model on its own: a good decision is read into its checked form,
each bad field is refused with the one error naming that field, and amounts stay Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from worker.admin.manual import ManualResolution, ResolveBody, read_resolution
from worker.domain.refusal import InvalidInput
from worker.domain.types import State

GOOD = {"outcome": "succeeded", "reason": " confirmed by phone\r\nwith Ana ", "by": " olga ",
        "at_provider_amount": True, "provider_amount": "90.5"}


def test_a_good_resolution_is_read_into_its_checked_form():
    # given a decision as a person made it
    # when the model reads it
    chosen = read_resolution(**GOOD)  # type: ignore[arg-type]
    # then each field is in its checked form
    assert chosen.state is State.SUCCEEDED
    assert chosen.reason == "confirmed by phone\nwith Ana"
    assert chosen.by == "olga"
    assert chosen.at_provider_amount is True


def test_the_provider_amount_stays_decimal():
    # given the provider's amount the person saw, as text and as a Decimal
    # when the model reads each
    seen = [read_resolution(**{**GOOD, "provider_amount": amount}).provider_amount  # type: ignore[arg-type]
            for amount in ("90.5", Decimal("90.5000"))]
    # then both are the same Decimal at four places
    assert seen == [Decimal("90.5000"), Decimal("90.5000")]
    assert all(type(amount) is Decimal for amount in seen)
    assert str(seen[0]) == "90.5000"


def test_no_amount_seen_is_none():
    # given a failed outcome without the provider's amount
    # when the model reads it
    chosen = read_resolution(outcome="failed", reason="no", by="olga")
    # then there is no amount and no settling at the provider's amount
    assert (chosen.state, chosen.provider_amount, chosen.at_provider_amount) == (
        State.FAILED, None, False)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("by", "  ", "must be 1 to 120 printable characters"),
    ("by", "x" * 121, "must be 1 to 120 printable characters"),
    ("reason", " ", "is required: say why, for the audit record"),
    ("reason", "a\x00b", "must not contain control characters"),
    ("reason", "x" * 1001, "is 1001 characters long; at most 1000 allowed"),
    ("outcome", "pending", "must be succeeded or failed"),
    ("provider_amount", "1e3", "must be a plain decimal string"),
])
def test_each_bad_field_is_refused_naming_it(field, value, message):
    # given a decision wrong in one field
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        read_resolution(**{**GOOD, field: value})
    # then the one refusal names that field
    assert refused.value.field == field
    assert message in refused.value.message


def test_the_provider_amount_settles_as_succeeded_only():
    # given a failed outcome at the provider's amount
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        read_resolution(outcome="failed", reason="no", by="olga", at_provider_amount=True)
    # then the flag is named
    assert refused.value.field == "at_provider_amount"


def test_the_actor_is_checked_first():
    # given a decision wrong in its actor, its reason and its outcome
    # when the model reads it
    with pytest.raises(InvalidInput) as refused:
        read_resolution(outcome="maybe", reason="", by="")
    # then the actor is named, as it always was
    assert refused.value.field == "by"


def test_the_api_body_is_the_model_without_who_and_what_was_seen():
    # given the API's resolve body and the model
    # when their fields are compared
    # then the body is the model less the actor and the amount seen
    assert set(ResolveBody.model_fields) == (set(ManualResolution.model_fields)
                                              - {"by", "provider_amount"})
