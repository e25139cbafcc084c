"""Acting on every transfer a filter selects: a preview first, then a confirmation that must
carry the preview's fingerprint.

An admin who rechecks "the 16 auth failures of instance P" judges the 16 rows the preview
showed. By the time they confirm, more may match, or some may have moved on. The fingerprint
is a hash over the filter, the action and the (id, state, updated_at) of every matching
transfer: the confirmation selects again under the same filter and acts only when the hash is
the same, so the set acted on is the set previewed, or nothing is done.

Each transfer is then acted on in its own transaction through `worker.admin.actions`, so each
gets the audit record a single action writes (with the bulk id in its details), and one
refusal (a transfer settled meanwhile) is reported without stopping the others.

A recheck writes no event, in bulk as alone: the outbox carries outcomes, and a recheck
changes none; the check it brings forward writes the event of whatever it finds. A bulk
resolution is always four-eyes: its confirmation becomes one proposal for the whole set,
through `worker.admin.proposals`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Engine, RowMapping

from worker.admin import actions, manual, proposals, queries
from worker.domain import types
from worker.domain.refusal import InvalidInput
from worker.process.db import transaction

# `settle_at_provider_amount` resolves amount mismatches as succeeded at the amount each
# provider recorded (worker.admin.proposals), the action an amount_mismatch group offers.
ACTIONS = ("recheck", "resolve", "settle_at_provider_amount")
OUTCOMES = types.FINAL_STATES
BULK_STATES = types.ACTIONABLE_STATES  # only transfers a person may act on
FIRST_ROWS = 20
FINGERPRINT_HEX = 32  # 128 bits of the SHA-256: enough that no two previews share one


class BulkRefused(actions.ActionRefused):
    """The bulk action as a whole is refused (too many, or changed since the preview)."""


@dataclass(frozen=True)
class Action:
    kind: Literal["recheck", "resolve", "settle_at_provider_amount"]
    outcome: str | None = None  # a resolution's: succeeded or failed

    @property
    def at_provider_amount(self) -> bool:
        return self.kind == "settle_at_provider_amount"

    def key(self) -> dict[str, Any]:
        return {"action": self.kind, "outcome": self.outcome}

    def describe(self, count: int) -> str:
        if self.kind == "recheck":
            return (f"recheck {count} transfer(s): each becomes due now, one under review "
                    f"goes back to pending; one audit record each")
        how = " at the amount the provider recorded" if self.at_provider_amount else ""
        return (f"propose to resolve {count} transfer(s) as {self.outcome}{how}: the "
                f"confirmation creates one four-eyes proposal for the whole set, which a "
                f"second operator must approve before anything is settled")


def action(kind: str | None, outcome: str | None = None) -> Action:
    """The action from what was typed or sent; the field named when wrong."""
    if kind not in ACTIONS:
        raise InvalidInput("action", f"must be one of {', '.join(ACTIONS)}")
    if kind == "recheck":
        if outcome:
            raise InvalidInput("outcome", "only a resolve has an outcome")
        return Action("recheck")
    if kind == "settle_at_provider_amount":
        if outcome not in (None, "", "succeeded"):
            raise InvalidInput("outcome", "a settlement at the provider's amount is "
                                          "succeeded")
        return Action("settle_at_provider_amount", "succeeded")
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome", f"must be {' or '.join(OUTCOMES)}")
    return Action("resolve", outcome)


def states(state: str | None) -> tuple[str, ...]:
    """`pending`, `needs_review`, or empty/`open` for both."""
    if state is None or state.strip() in ("", "open"):
        return BULK_STATES
    if state.strip() not in BULK_STATES:
        raise InvalidInput("state", "a bulk action takes pending or needs_review "
                                    "transfers (or open for both)")
    return (state.strip(),)


def fingerprint(filters: queries.TransferFilter, act: Action,
                rows: Iterable[Mapping[Any, Any]]) -> str:
    """`COUNT-HASH`: the count, then a hash over filter, action and each (id, state, updated_at).

    The count rides in front so that a refusal can say how many there were; it is hashed too,
    so changing it only makes the fingerprint fail to match.
    """
    members = sorted((int(row["id"]), str(row["state"]),
                      row["updated_at"].astimezone(UTC).isoformat()) for row in rows)
    document = json.dumps({"filter": filters.key(), **act.key(), "count": len(members),
                           "transfers": members}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(document.encode()).hexdigest()[:FINGERPRINT_HEX]
    return f"{len(members)}-{digest}"


def previewed_count(fingerprint_text: str) -> int | None:
    count, dash, _ = fingerprint_text.partition("-")
    return int(count) if dash and count.isascii() and count.isdigit() else None


def totals(rows: Iterable[Mapping[Any, Any]]) -> dict[str, Decimal]:
    """The sum of the amounts per currency, currencies in alphabetical order."""
    sums: dict[str, Decimal] = {}
    for row in rows:
        sums[row["currency"]] = sums.get(row["currency"], Decimal(0)) + row["amount"]
    return dict(sorted(sums.items()))


@dataclass(frozen=True)
class Preview:
    filters: queries.TransferFilter
    action: Action
    count: int
    totals: dict[str, Decimal]
    first: list[RowMapping]  # the oldest FIRST_ROWS, all columns of the transfer list
    fingerprint: str
    ids: list[int] = field(repr=False)

    @property
    def description(self) -> str:
        return self.action.describe(self.count)


def preview(engine: Engine, filters: queries.TransferFilter, act: Action, *, limit: int,
            now: datetime | None = None) -> Preview:
    """What the action would act on; refused (BulkRefused) past `limit` transfers."""
    now = now or datetime.now(UTC)
    with transaction(engine) as session:
        rows = queries.matching(session, filters, now, limit)
        if len(rows) > limit:
            total = queries.count_matching(session, filters, now)
            raise BulkRefused(f"{total} transfers match; a bulk action takes at most {limit} "
                              f"(RESOLVER_BULK_MAX): narrow the filter")
        first = queries.list_transfers(session, filters, now, limit=FIRST_ROWS).items \
            if rows else []
    return Preview(filters, act, len(rows), totals(rows), first,
                   fingerprint(filters, act, rows), [int(row["id"]) for row in rows])


ResultStatus = Literal["applied", "refused", "not_found"]


@dataclass(frozen=True)
class Result:
    transfer_id: int
    status: ResultStatus
    detail: str  # the refusal, or "pending -> pending"
    audit_id: int | None = None


@dataclass(frozen=True)
class Run:
    bulk_id: str
    action: Action
    results: list[Result]
    proposal: proposals.ProposalView | None = None  # a bulk resolution's proposal

    def count(self, status: ResultStatus) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def complete(self) -> bool:
        return all(result.status == "applied" for result in self.results)


def verify(engine: Engine, filters: queries.TransferFilter, act: Action, expected: str, *,
           limit: int, now: datetime | None = None) -> Preview:
    """Select again and compare fingerprints: the preview as it is now, or BulkRefused."""
    expected = (expected or "").strip()
    if not expected:
        raise InvalidInput("fingerprint", "is required: preview first and confirm with "
                                          "the fingerprint it printed")
    current = preview(engine, filters, act, limit=limit, now=now)
    if current.fingerprint != expected:
        then = previewed_count(expected)
        raise BulkRefused(f"the matching transfers changed since the preview: "
                          f"{current.count} now, {'?' if then is None else then} then; "
                          f"preview again")
    return current


Progress = Callable[[Result], None]


@dataclass(frozen=True)
class Confirmed:
    """A confirmation checked against the set as it is now: what to act on, by whom, why."""

    bulk_id: str
    action: Action
    ids: list[int]
    actor: str
    reason: str


def confirmed(engine: Engine, filters: queries.TransferFilter, act: Action, expected: str, *,
              actor: str, reason: str, limit: int, now: datetime | None = None) -> Confirmed:
    """Check the actor, the reason and the fingerprint; nothing is written when one is wrong."""
    actor = manual.actor_name(actor)
    why = manual.reason_text(reason, required=True)
    assert why is not None
    current = verify(engine, filters, act, expected, limit=limit, now=now)
    return Confirmed(str(uuid.uuid4()), act, current.ids, actor, why)


def execute(engine: Engine, confirmation: Confirmed, progress: Progress | None = None, *,
            ttl: timedelta = proposals.DEFAULT_TTL) -> Run:
    """Act on a confirmed set: a recheck transfer by transfer (`progress` hears of each), a
    resolution as one four-eyes proposal that expires after `ttl`."""
    c = confirmation
    if c.action.kind != "recheck":
        assert c.action.outcome is not None
        proposal = proposals.propose(
            engine, c.ids, c.action.outcome, actor=c.actor, reason=c.reason,
            at_provider_amount=c.action.at_provider_amount, bulk=True, ttl=ttl)
        return Run(c.bulk_id, c.action, [], proposal)
    return Run(c.bulk_id, c.action, recheck_each(engine, c.ids, actor=c.actor, reason=c.reason,
                                                 bulk_id=c.bulk_id, progress=progress))


def confirm(engine: Engine, filters: queries.TransferFilter, act: Action, expected: str, *,
            actor: str, reason: str, limit: int, progress: Progress | None = None,
            ttl: timedelta = proposals.DEFAULT_TTL, now: datetime | None = None) -> Run:
    """Check the confirmation, then act on exactly the previewed set."""
    return execute(engine, confirmed(engine, filters, act, expected, actor=actor,
                                     reason=reason, limit=limit, now=now), progress, ttl=ttl)


def recheck_each(engine: Engine, transfer_ids: Sequence[int], *, actor: str, reason: str,
                 bulk_id: str, progress: Progress | None = None) -> list[Result]:
    """Recheck each transfer in its own transaction; a refusal is noted and the rest go on."""
    results = []
    for transfer_id in transfer_ids:
        try:
            applied = actions.recheck(engine, transfer_id, actor=actor, reason=reason,
                                      bulk_id=bulk_id)
            result = Result(transfer_id, "applied",
                            f"{applied.from_state} -> {applied.to_state}", applied.audit_id)
        except actions.TransferNotFound as exc:
            result = Result(transfer_id, "not_found", str(exc))
        except actions.ActionRefused as exc:
            result = Result(transfer_id, "refused", str(exc))
        results.append(result)
        if progress is not None:
            progress(result)
    return results
