"""A manual resolution as one pydantic model: what a person decides about a transfer.

`ResolveBody` is what the API's resolve route documents and takes (the outcome, why, and
whether at the provider's amount); `ManualResolution` is that decision with who made it and
the provider's amount the person saw, every field checked by the rules below. The command
line, the API, the web form and proposals (bulk ones too) all read a resolution through
`read_resolution`, which names the first wrong field with the one refusal, InvalidInput.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from worker.admin.schemas import MAX_REASON_CHARS, FinalState
from worker.domain.money import InvalidMoney, parse_amount
from worker.domain.refusal import InvalidInput, first_refusal
from worker.domain.types import State, final_outcome

MAX_ACTOR_CHARS = 120  # resolved_by holds "admin:" + the name in 128 characters
# The order the rules are checked in: a resolution wrong twice is refused for the first.
CHECK_ORDER = ("by", "reason", "outcome", "at_provider_amount", "provider_amount")


def actor_name(actor: str) -> str:
    actor = actor.strip()
    if not actor or len(actor) > MAX_ACTOR_CHARS or not actor.isprintable():
        raise InvalidInput("by", f"must be 1 to {MAX_ACTOR_CHARS} printable characters")
    return actor


def reason_text(reason: str | None, *, required: bool) -> str | None:
    # Browsers send a text area's line breaks as CRLF.
    text = (reason or "").replace("\r\n", "\n").strip()
    if not text:
        if required:
            raise InvalidInput("reason", "is required: say why, for the audit record")
        return None
    if len(text) > MAX_REASON_CHARS:
        raise InvalidInput("reason", f"is {len(text)} characters long; at most "
                                     f"{MAX_REASON_CHARS} allowed")
    if not all(char.isprintable() or char in "\n\t" for char in text):
        raise InvalidInput("reason", "must not contain control characters")
    return text


def outcome_state(outcome: object, at_provider_amount: bool = False) -> State:
    """The final state an admin asked for; refused unless succeeded or failed."""
    target = final_outcome(outcome)
    if at_provider_amount and target is not State.SUCCEEDED:
        raise InvalidInput("at_provider_amount", "settles a transfer as succeeded only: a "
                                                 "failed transfer moved nothing")
    return target


# A resolution as the API takes it (the token's name is who decided): its schema is the
# resolve route's documented body.
class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: FinalState
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS,
                        description="Why: kept in the audit record and the event.")
    at_provider_amount: bool = Field(
        default=False, description="Settle an amount mismatch (needs_review) as succeeded at "
                                   "the amount the provider recorded; the difference goes to "
                                   "the provider's suspense account.")


class ManualResolution(ResolveBody):
    """A person's resolution of a transfer, checked: `state` is the outcome as a State, the
    reason is kept as written (CRLF as LF, spaces around dropped)."""

    model_config = ConfigDict(frozen=True)

    by: str
    # The provider's amount the person saw when settling at it; None: whatever it is now.
    provider_amount: Decimal | None = None

    @property
    def state(self) -> State:
        return State(self.outcome)

    @field_validator("outcome", mode="before")
    @classmethod
    def _succeeded_or_failed(cls, value: object) -> str:
        return outcome_state(value).value

    @field_validator("reason", mode="before")
    @classmethod
    def _a_reason(cls, value: str | None) -> str:
        why = reason_text(value, required=True)
        assert why is not None
        return why

    @field_validator("at_provider_amount")
    @classmethod
    def _only_when_succeeded(cls, value: bool, info: ValidationInfo) -> bool:
        outcome = info.data.get("outcome")  # absent when the outcome was refused
        if outcome is not None:
            outcome_state(outcome, value)
        return value

    @field_validator("by", mode="before")
    @classmethod
    def _an_actor(cls, value: str) -> str:
        return actor_name(value)

    @field_validator("provider_amount", mode="before")
    @classmethod
    def _an_amount_seen(cls, value: object) -> Decimal | None:
        if value is None or value == "":
            return None
        if isinstance(value, Decimal):  # a Python caller's, already an amount
            return value
        try:
            return parse_amount(value, "provider_amount")
        except InvalidMoney as exc:
            raise InvalidInput(exc.field, exc.message) from None


def read_resolution(*, outcome: object, reason: str | None, by: str,
                    at_provider_amount: bool = False,
                    provider_amount: Decimal | str | None = None) -> ManualResolution:
    """A manual resolution, checked; raise InvalidInput naming the first wrong field."""
    try:
        return ManualResolution.model_validate({
            "outcome": outcome, "reason": reason, "by": by,
            "at_provider_amount": at_provider_amount, "provider_amount": provider_amount})
    except ValidationError as exc:
        raise first_refusal(exc, CHECK_ORDER) from None
