"""The JSON shapes of the admin console, shared by the API and the command line's `--json`.

Money is always a string with four decimals and times are ISO 8601 in UTC, so no consumer ever
meets a float or a local time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from worker.admin import queries, review_queries
from worker.domain import types

MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{4}$"
Money = Annotated[str, Field(pattern=MONEY_PATTERN, examples=["10.0000"])]
UtcTime = Annotated[datetime, AfterValidator(lambda value: value.astimezone(UTC))]
# The states as the API names them, built from the one enum (worker.domain.types): pydantic and
# the OpenAPI document see each as a Literal of its values, in the enum's order; a type checker
# sees plain strings.
if TYPE_CHECKING:
    State = str
    FinalState = str
    ActionableState = str
    StateFilter = str
    ActionableFilter = str
else:
    State = Literal[types.ALL_STATES]
    FinalState = Literal[types.FINAL_STATES]  # succeeded, failed: what a resolution sets
    ActionableState = Literal[types.ACTIONABLE_STATES]  # pending, needs_review
    StateFilter = Literal[(*types.ALL_STATES, "open")]  # `open`: every state not yet final
    ActionableFilter = Literal[(*types.ACTIONABLE_STATES, "open")]  # `open`: both of them
MAX_REASON_CHARS = 1000
Row = Mapping[Any, Any]  # a database row as the queries return it


def money(amount: Decimal) -> str:
    return f"{amount:.4f}"


class Shape(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(Shape):
    detail: str
    field: str | None = None


class TransferOut(Shape):
    id: int
    provider: str
    tx_id: str
    direction: Literal["deposit", "withdraw"]
    player_id: str
    player_ref: str | None
    amount: Money
    currency: str
    state: State
    sent_at: UtcTime
    created_at: UtcTime
    updated_at: UtcTime
    age_s: float = Field(description="Seconds since the transfer was registered.")
    attempts: int
    not_found_streak: int
    last_outcome: str | None
    last_error: str | None
    last_checked_at: UtcTime | None
    next_check_at: UtcTime | None = Field(
        description="Pending: when it is due (or when a running check's lease ends). "
                    "In flight: its deadline.")
    check_under_way: bool = Field(description="A check holds the transfer's lease right now.")
    review_reason: str | None
    registered_by: str
    resolved_at: UtcTime | None
    resolved_by: str | None
    contradicted: bool = Field(description="A caller reported an answer that contradicts the "
                                           "final state (see `contradictions`).")


def transfer_out(row: Row, now: datetime) -> TransferOut:
    return TransferOut.model_validate({
        **row,
        "amount": money(row["amount"]),
        "age_s": round((now - row["created_at"]).total_seconds(), 3),
        "check_under_way": row["state"] == "pending" and row["lease_token"] is not None
                           and row["next_check_at"] is not None and row["next_check_at"] > now,
    })


class CheckOut(Shape):
    id: int
    checked_at: UtcTime
    outcome: str
    http_status: int | None
    latency_ms: int
    error: str | None
    provider_status: str | None
    provider_amount: Money | None
    provider_currency: str | None
    applied: bool = Field(description="False when the lease had passed to another check.")
    request: str
    response_excerpt: str


class LedgerEntryOut(Shape):
    id: int
    kind: str
    from_account: str
    to_account: str
    amount: Money
    currency: str
    created_at: UtcTime


class EventOut(Shape):
    seq: int
    id: str
    type: str
    created_at: UtcTime
    published_at: UtcTime | None
    payload: dict[str, Any] = Field(description="The CloudEvents 1.0 event as published.")


class AuditOut(Shape):
    id: int
    actor: str
    action: str
    reason: str | None
    details: dict[str, Any]
    created_at: UtcTime


class ContradictionOut(Shape):
    id: int
    final_state: State
    reported_state: State
    reported_by: str
    reported_at: UtcTime


class TransferDetail(TransferOut):
    contradictions: list[ContradictionOut] = Field(
        description="Callers' answers that disagree with the final state; it stands.")
    checks: list[CheckOut]
    checks_total: int = Field(description="All checks; `checks` holds the latest 1000.")
    ledger_entries: list[LedgerEntryOut]
    events: list[EventOut]
    audit: list[AuditOut]


def transfer_detail(history: queries.TransferHistory, now: datetime) -> TransferDetail:
    checks = [
        CheckOut.model_validate({
            **row,
            "provider_amount": (money(row["provider_amount"])
                                if row["provider_amount"] is not None else None),
        })
        for row in history.checks
    ]
    entries = [LedgerEntryOut.model_validate({**row, "amount": money(row["amount"])})
               for row in history.ledger_entries]
    return TransferDetail(
        **transfer_out(history.transfer, now).model_dump(),
        checks=checks,
        checks_total=history.checks_total,
        ledger_entries=entries,
        events=[EventOut.model_validate({**row, "id": str(row["id"])}) for row in history.events],
        audit=[AuditOut.model_validate(row) for row in history.audit],
        contradictions=[ContradictionOut.model_validate(row) for row in history.contradictions],
    )


class TransferPage(Shape):
    items: list[TransferOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page.")


def transfer_page(page: queries.Page, now: datetime) -> TransferPage:
    return TransferPage(items=[transfer_out(row, now) for row in page.items],
                        next_cursor=page.next_cursor)


class RegisterResult(Shape):
    id: int
    provider: str
    tx_id: str
    state: State
    created: bool
    amount: Money
    currency: str
    direction: Literal["deposit", "withdraw"]
    next_check_at: UtcTime | None


class RecheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=MAX_REASON_CHARS)


class ActionResult(Shape):
    transfer: TransferOut
    audit: AuditOut


def action_result(transfer: Row, audit: Row,
                  now: datetime) -> ActionResult:
    return ActionResult(transfer=transfer_out(transfer, now), audit=AuditOut.model_validate(audit))


class CountOut(Shape):
    provider: str
    state: State
    count: int


class OldestPending(Shape):
    id: int
    provider: str
    tx_id: str
    created_at: UtcTime
    age_s: float


class AgeBucket(Shape):
    bucket: str
    label: str
    count: int


class Resolutions(Shape):
    total: int
    succeeded: int
    failed: int
    by_hand: int


class StatsOut(Shape):
    counts: list[CountOut]
    oldest_pending: OldestPending | None
    pending_by_age: list[AgeBucket]
    resolutions_last_hour: Resolutions
    contradicted: int = Field(description="Transfers whose final state a caller contradicted.")
    generated_at: UtcTime


def stats_out(stats: queries.Stats, now: datetime) -> StatsOut:
    oldest = stats.oldest_pending
    return StatsOut(
        counts=[CountOut.model_validate(row) for row in stats.counts],
        oldest_pending=None if oldest is None else OldestPending.model_validate({
            **oldest, "age_s": round((now - oldest["created_at"]).total_seconds(), 3)}),
        pending_by_age=[AgeBucket(bucket=key, label=label, count=stats.pending_by_age[key])
                        for key, label in queries.AGE_BUCKETS],
        resolutions_last_hour=Resolutions.model_validate(stats.resolutions_last_hour),
        contradicted=stats.contradicted,
        generated_at=now,
    )


class AccountBalance(Shape):
    code: str
    kind: str
    currency: str
    balance: Money


class CurrencyTotal(Shape):
    currency: str
    total: Money = Field(description="Sum of every balance of the currency: zero when the "
                                     "books are right.")


class Balances(Shape):
    accounts: list[AccountBalance]
    totals: list[CurrencyTotal]


def balances(rows: list[tuple[str, str, str, Decimal]]) -> Balances:
    totals: dict[str, Decimal] = {}
    for _code, _kind, currency, balance in rows:
        totals[currency] = totals.get(currency, Decimal(0)) + balance
    return Balances(
        accounts=[AccountBalance(code=code, kind=kind, currency=currency, balance=money(balance))
                  for code, kind, currency, balance in rows],
        totals=[CurrencyTotal(currency=currency, total=money(total))
                for currency, total in sorted(totals.items())],
    )


class ReplayedEvent(Shape):
    seq: int
    event: dict[str, Any]


class EventsPage(Shape):
    items: list[ReplayedEvent]
    next_after: int = Field(description="Pass as `after` to read on; unchanged when nothing "
                                        "was newer.")


class Liveness(Shape):
    status: Literal["ok"]


class Health(Shape):
    status: Literal["ok", "degraded"]
    postgres: bool
    redis: bool
    seconds_since_sweep: float | None = Field(
        description="Null when no sweep ran in the last hour (or Redis is unreachable).")


class BulkHint(Shape):
    action: Literal["recheck", "resolve", "settle_at_provider_amount"]
    label: str
    page: str = Field(description="The web page's bulk preview for this group and action.")


class CauseGroupOut(Shape):
    provider: str
    state: ActionableState
    cause: str = Field(description="A cause code, as the transfer list's `cause` filter takes "
                                   "it (see the README's Causes).")
    label: str
    advice: str = Field(description="The usual remedy.")
    count: int
    totals: dict[str, Money] = Field(description="Sum of the amounts, per currency.")
    oldest_created_at: UtcTime = Field(description="When the longest-waiting one was "
                                                   "registered.")
    oldest_age_s: float
    transfers_url: str = Field(description="The API list of exactly these transfers.")
    transfers_page: str = Field(description="The web page's list of these transfers.")
    bulk: list[BulkHint] = Field(description="The bulk actions that apply to the group.")


class ReviewOut(Shape):
    groups: list[CauseGroupOut]
    pending_older_than_s: float = Field(
        description="Pending transfers count once registered at least this long ago.")
    generated_at: UtcTime


def review_out(groups: list[review_queries.CauseGroup], stuck_after: timedelta,
               now: datetime) -> ReviewOut:
    return ReviewOut(
        groups=[CauseGroupOut.model_validate({
            **g.__dict__,
            "totals": {currency: money(total) for currency, total in g.totals.items()},
            "oldest_created_at": g.oldest,
            "oldest_age_s": round((now - g.oldest).total_seconds(), 3),
            "transfers_url": review_queries.transfers_url(g, stuck_after),
            "transfers_page": review_queries.transfers_url(g, stuck_after, base="/transfers"),
            "bulk": [{"action": action, "label": review_queries.BULK_LABELS[action],
                      "page": review_queries.bulk_url(g, action, now - stuck_after)}
                     for action in g.bulk_actions],
        }) for g in groups],
        pending_older_than_s=stuck_after.total_seconds(),
        generated_at=now,
    )
