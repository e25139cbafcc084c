"""Four-eyes proposals under /api/v1/proposals: list, read, approve, reject.

A proposal is made by `POST /api/v1/transfers/{id}/resolve` (answered 202) when the amount
needs a second operator; here another operator approves it, or anyone turns it down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from worker.admin import proposals, queries
from worker.admin.api import TransferId, _errors, refusals_answered, runtime_of
from worker.admin.auth import Operator, Reader
from worker.admin.proposal_schemas import (
    ProposalList,
    ProposalOut,
    ProposalStatus,
    RejectBody,
    proposal_out,
)
from worker.admin.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/proposals", tags=["admin"], responses=_errors(401, 422))
ProposalId = Annotated[int, Path(ge=1, le=queries.MAX_ID, description="The proposal's id.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such proposal."}}


@router.get("", response_model=ProposalList)
def list_proposals(
    request: Request,
    who: Reader,
    status: Annotated[ProposalStatus | None,
                      Query(description="Only proposals in this status.")] = None,
    transfer_id: Annotated[TransferId | None, Query(
        description="Only proposals that cover this transfer.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ProposalList:
    """Proposals, newest first; an open one past its time shows as expired."""
    found = proposals.list_proposals(runtime_of(request).engine, status=status,
                                     transfer_id=transfer_id, limit=limit)
    return ProposalList(items=[proposal_out(view) for view in found])


@router.get("/{proposal_id}", response_model=ProposalOut, responses=NOT_FOUND)
def get_proposal(proposal_id: ProposalId, request: Request, who: Reader) -> ProposalOut:
    """A proposal with each of its transfers and, once approved, what came of each."""
    return _answer(lambda: proposals.get(runtime_of(request).engine, proposal_id))


@router.post("/{proposal_id}/approve", response_model=ProposalOut,
             responses={**NOT_FOUND, **_errors(403, 409)})
def approve_proposal(proposal_id: ProposalId, request: Request, who: Operator) -> ProposalOut:
    """Approve as the second operator (never the proposer): each transfer is resolved in its
    own transaction; one that can no longer be is reported on its item as refused."""
    return _answer(lambda: proposals.approve(runtime_of(request).engine, proposal_id,
                                             actor=who.name))


@router.post("/{proposal_id}/reject", response_model=ProposalOut,
             responses={**NOT_FOUND, **_errors(403, 409)})
def reject_proposal(proposal_id: ProposalId, body: RejectBody, request: Request,
                    who: Operator) -> ProposalOut:
    """Turn an open proposal down (its proposer may withdraw it); nothing moves."""
    return _answer(lambda: proposals.reject(runtime_of(request).engine, proposal_id,
                                            actor=who.name, reason=body.reason))


def _answer(call: Callable[[], proposals.ProposalView]) -> ProposalOut:
    return proposal_out(refusals_answered(call))
