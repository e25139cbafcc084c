"""The JSON shapes of four-eyes proposals, shared by the API and the command line's `--json`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.proposal import ITEM_STATES, PROPOSAL_STATUSES
from worker.admin import proposals
from worker.admin.schemas import MAX_REASON_CHARS, FinalState, Money, Shape, UtcTime, money

# Built from the model's lists, like the transfer states (worker.admin.schemas.State).
if TYPE_CHECKING:
    ProposalStatus = str
    ItemState = str
else:
    ProposalStatus = Literal[PROPOSAL_STATUSES]
    ItemState = Literal[ITEM_STATES]


class ProposalItemOut(Shape):
    transfer_id: int
    provider: str
    tx_id: str
    direction: Literal["deposit", "withdraw"]
    transfer_state: str = Field(description="The transfer's state now.")
    amount: Money = Field(description="Our amount, as proposed.")
    currency: str
    provider_amount: Money | None = Field(
        description="The provider's amount it settles at; null unless at the provider's amount.")
    state: ItemState = Field(
        description="applied or refused once approved; refused says why in `note`.")
    note: str | None
    audit_id: int | None


class ProposalOut(Shape):
    id: int
    status: ProposalStatus
    outcome: FinalState
    at_provider_amount: bool
    bulk: bool
    proposed_by: str
    reason: str
    created_at: UtcTime
    expires_at: UtcTime
    decided_by: str | None
    decided_at: UtcTime | None
    decision_reason: str | None
    items: list[ProposalItemOut]


class ProposalList(Shape):
    items: list[ProposalOut]


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS,
                        description="Why not: kept in the proposal and each transfer's audit.")


def proposal_out(view: proposals.ProposalView) -> ProposalOut:
    return ProposalOut.model_validate({
        **{name: getattr(view, name) for name in (
            "id", "status", "outcome", "at_provider_amount", "bulk", "proposed_by", "reason",
            "created_at", "expires_at", "decided_by", "decided_at", "decision_reason")},
        "items": [{
            **vars(item),
            "amount": money(item.amount),
            "provider_amount": (money(item.provider_amount)
                                if item.provider_amount is not None else None),
        } for item in view.items],
    })
