"""The bulk actions on the JSON API: POST /api/v1/bulk/preview, then /api/v1/bulk/confirm.

The confirmation runs inside the request, transfer by transfer, and answers with every
transfer's result. The set is bounded by RESOLVER_BULK_MAX (10,000 by default), which keeps
the longest request to a known size: a recheck is one short transaction, about 5 ms on a busy
2-core machine, so under a minute at the cap. A script that wants progress on a long run
narrows the filter (by registered_before, say), or uses the command line, which shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from worker.admin import bulk, inputs, queries
from worker.admin.api import ApiProblem, _errors, refusals_answered, runtime_of
from worker.admin.auth import Operator, Reader
from worker.admin.proposal_schemas import ProposalOut, proposal_out
from worker.admin.schemas import (
    MAX_REASON_CHARS,
    ActionableFilter,
    FinalState,
    Money,
    TransferOut,
    money,
    transfer_out,
)
from worker.domain.refusal import InvalidInput

api = APIRouter(prefix="/api/v1/bulk", tags=["bulk"], responses=_errors(401, 422))

_TEXT = r"^[^\x00-\x1f\x7f]*$"


class BulkFilter(BaseModel):
    """Which transfers: every field optional, all given ones must hold."""

    model_config = ConfigDict(extra="forbid")

    state: ActionableFilter = Field(
        default="open", description="`open` for both pending and needs_review.")
    provider: str | None = Field(default=None, max_length=64, pattern=_TEXT)
    cause: str | None = Field(default=None, max_length=32, pattern=_TEXT,
                              description="A cause code, such as `auth`.")
    currency: str | None = Field(default=None, max_length=10, pattern=_TEXT)
    registered_after: str | None = Field(
        default=None, max_length=40, pattern=_TEXT,
        description="At or after: ISO 8601 with offset, or a duration ago (`2h`).")
    registered_before: str | None = Field(
        default=None, max_length=40, pattern=_TEXT,
        description="Before: ISO 8601 with offset, or a duration ago (`2h`).")
    older_than: str | None = Field(default=None, max_length=32, pattern=_TEXT,
                                   description="Registered at least this long ago.")
    min_amount: str | None = Field(default=None, max_length=64, pattern=_TEXT,
                                   description="At least: a plain decimal string.")
    max_amount: str | None = Field(default=None, max_length=64, pattern=_TEXT)

    def parsed(self) -> queries.TransferFilter:
        return inputs.transfer_filter(
            bulk.states(self.state), provider=self.provider, older_than_text=self.older_than,
            cause_text=self.cause, currency_text=self.currency,
            registered_after=self.registered_after, registered_before=self.registered_before,
            min_amount=self.min_amount, max_amount=self.max_amount)


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filter: BulkFilter = Field(default_factory=BulkFilter)
    action: Literal["recheck", "resolve", "settle_at_provider_amount"] = Field(
        description="settle_at_provider_amount: amount mismatches as succeeded at the "
                    "provider's amount.")
    outcome: FinalState | None = Field(
        default=None, description="A resolve's outcome.")


class ConfirmBody(PreviewBody):
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS,
                        description="Why: kept in each audit record.")
    fingerprint: str = Field(min_length=1, max_length=100, pattern=_TEXT,
                             description="The preview's fingerprint.")


class CurrencyAmount(BaseModel):
    currency: str
    total: Money


class PreviewOut(BaseModel):
    action: Literal["recheck", "resolve", "settle_at_provider_amount"]
    outcome: str | None
    description: str = Field(description="What the confirmation would do.")
    count: int
    totals: list[CurrencyAmount] = Field(description="The matching amounts per currency.")
    first: list[TransferOut] = Field(description=f"The {bulk.FIRST_ROWS} oldest.")
    fingerprint: str = Field(description="Send it back with /bulk/confirm.")
    max_transfers: int = Field(description="The most one bulk action takes (RESOLVER_BULK_MAX).")


class ResultOut(BaseModel):
    transfer_id: int
    status: Literal["applied", "refused", "not_found"]
    detail: str
    audit_id: int | None


class RunOut(BaseModel):
    bulk_id: str = Field(description="In every audit record's details as `bulk_id`.")
    action: Literal["recheck", "resolve", "settle_at_provider_amount"]
    applied: int
    refused: int
    not_found: int
    results: list[ResultOut] = Field(description="A recheck's result per transfer.")
    proposal: ProposalOut | None = Field(
        default=None, description="A resolution's four-eyes proposal for the whole set: "
                                  "nothing moves until a second operator approves it.")


def _parse(body: PreviewBody) -> tuple[queries.TransferFilter, bulk.Action]:
    try:
        return body.filter.parsed(), bulk.action(body.action, body.outcome)
    except InvalidInput as exc:
        raise ApiProblem(422, exc.message, exc.field) from None


def preview_out(found: bulk.Preview, limit: int, now: datetime) -> PreviewOut:
    return PreviewOut(
        action=found.action.kind, outcome=found.action.outcome,
        description=found.description, count=found.count,
        totals=[CurrencyAmount(currency=c, total=money(t)) for c, t in found.totals.items()],
        first=[transfer_out(row, now) for row in found.first],
        fingerprint=found.fingerprint, max_transfers=limit)


def run_out(run: bulk.Run) -> RunOut:
    return RunOut(bulk_id=run.bulk_id, action=run.action.kind, applied=run.count("applied"),
                  refused=run.count("refused"), not_found=run.count("not_found"),
                  results=[ResultOut(transfer_id=r.transfer_id, status=r.status,
                                     detail=r.detail, audit_id=r.audit_id)
                           for r in run.results],
                  proposal=proposal_out(run.proposal) if run.proposal else None)


@api.post("/preview", response_model=PreviewOut, responses=_errors(409))
def preview(body: PreviewBody, request: Request, who: Reader) -> PreviewOut:
    """What a bulk action would act on: count, totals per currency, the first rows, and the
    fingerprint that /bulk/confirm needs. 409 past RESOLVER_BULK_MAX. Writes nothing."""
    filters, act = _parse(body)
    runtime = runtime_of(request)
    now = datetime.now(UTC)
    found = refusals_answered(lambda: bulk.preview(runtime.engine, filters, act,
                                                   limit=runtime.settings.bulk_max, now=now))
    return preview_out(found, runtime.settings.bulk_max, now)


@api.post("/confirm", response_model=RunOut, responses=_errors(403, 409))
def confirm(body: ConfirmBody, request: Request, who: Operator) -> RunOut:
    """Act on the previewed set: 409 if the matching transfers changed since the preview
    (nothing is written). A recheck runs on each transfer in its own transaction, with its
    own audit record; each result says applied, refused (why) or not_found. A resolution
    becomes one four-eyes proposal for the whole set (409 when one of them cannot be
    proposed, naming it)."""
    filters, act = _parse(body)
    runtime = runtime_of(request)
    # 409 when the set changed since the preview, or one of it cannot be proposed
    return run_out(refusals_answered(lambda: bulk.confirm(
        runtime.engine, filters, act, body.fingerprint, actor=who.name, reason=body.reason,
        limit=runtime.settings.bulk_max, ttl=runtime.settings.proposal_ttl)))
