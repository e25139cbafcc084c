"""Apply a batch of provider answers in one transaction, with one statement per kind of write.

Every answer of a batch is decided by the pure policy (worker.domain.policy), then:
- one UPDATE applies all decisions (recheck, resolution, review) and puts off the checks that
  were not admitted, guarded by the state and the lease token: a transfer that is no longer
  pending, or no longer leased to this batch, is left alone, and its answer is recorded only;
- one INSERT records every answer as a check row (`applied` says which changed the transfer);
- for the resolutions it applied: the ledger postings (worker.engine.resolve.ledger's rule, two
  statements) and the events, written last (worker.engine.resolve.events' outbox lock is held
  from there to the commit).

So the state, the postings and the events of every transfer in the batch commit together, and
the database's own rules (one resolution posting and one resolution event per transfer, final
rows never change) hold as they do for a single resolution. The postings and the events are
built from the rows the UPDATE returns, not from the check message.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, text

from models import Transfer
from worker.domain.policy import Action, Decision, PollState, decide
from worker.domain.types import Direction, Outcome, State
from worker.engine.check.throttle import OVER_RATE, Permission
from worker.engine.resolve import events, ledger
from worker.engine.resolve.resolution import ENGINE_ACTOR
from worker.engine.sweep.due import Claim
from worker.metrics import engine as metrics
from worker.process import logs
from worker.providers.base import CheckResult
from worker.providers.instance import ProviderInstance

MAX_ERROR_CHARS = 1000
log = logs.get(__name__)


class CheckEnd(StrEnum):
    """What became of one claimed transfer's check."""

    SKIPPED = "skipped"  # not pending any more, or the lease belongs to another check
    DEFERRED = "deferred"  # rate limit, circuit breaker or call slots said not now
    RESOLVED = "resolved"
    REVIEW = "needs_review"
    RESCHEDULED = "rescheduled"
    LEASE_LOST = "lease_lost"  # answer recorded, but another check owns the transfer now


_END_OF = {State.PENDING.value: CheckEnd.RESCHEDULED, State.SUCCEEDED.value: CheckEnd.RESOLVED,
           State.FAILED.value: CheckEnd.RESOLVED, State.NEEDS_REVIEW.value: CheckEnd.REVIEW}


@dataclass(frozen=True)
class Asked:
    """One claim's provider call: the answer, when the call began, and when it ended."""

    claim: Claim
    result: CheckResult
    started_at: datetime
    ended: float  # time.monotonic() at the end: the order the breaker hears the calls in

# Each transfer's new state, counters and clock in one statement. Rows put off (not asked)
# carry no outcome and no counters: theirs stay as they were.
APPLY = text(
    """
    UPDATE transfers t
    SET state = v.state,
        attempts = COALESCE(v.attempts, t.attempts),
        not_found_streak = COALESCE(v.streak, t.not_found_streak),
        next_check_at = v.next_check_at,
        last_outcome = COALESCE(v.outcome, t.last_outcome),
        last_error = v.error,
        last_checked_at = CASE WHEN v.outcome IS NULL THEN t.last_checked_at ELSE :now END,
        review_reason = CASE WHEN v.state = 'needs_review' THEN v.reason ELSE t.review_reason END,
        resolved_at = CASE WHEN v.state IN ('succeeded', 'failed') THEN :now END,
        resolved_by = CASE WHEN v.state IN ('succeeded', 'failed') THEN :by END,
        lease_token = NULL, updated_at = :now, version = t.version + 1
    FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:attempts AS int[]),
                CAST(:streaks AS int[]), CAST(:next_check_at AS timestamptz[]),
                CAST(:outcomes AS text[]), CAST(:errors AS text[]), CAST(:reasons AS text[]))
         AS v(id, state, attempts, streak, next_check_at, outcome, error, reason)
    WHERE t.id = v.id AND t.state = 'pending' AND t.lease_token = :token
    RETURNING t.id, t.state, t.provider, t.tx_id, t.direction, t.amount, t.currency,
              t.player_id, t.player_ref, t.resolved_by, t.attempts, t.sent_at, t.resolved_at
    """
)

RECORD_CHECKS = text(
    """
    INSERT INTO checks (transfer_id, started_at, checked_at, outcome, http_status, latency_ms,
                        request, response_excerpt, error, provider_status, provider_amount,
                        provider_currency, applied)
    SELECT * FROM unnest(
        CAST(:transfer_ids AS bigint[]), CAST(:started_at AS timestamptz[]),
        CAST(:checked_at AS timestamptz[]), CAST(:outcome AS text[]),
        CAST(:http_status AS int[]), CAST(:latency_ms AS int[]), CAST(:request AS text[]),
        CAST(:response_excerpt AS text[]), CAST(:error AS text[]),
        CAST(:provider_status AS text[]), CAST(:provider_amount AS numeric[]),
        CAST(:provider_currency AS text[]), CAST(:applied AS boolean[]))
    """
)

# Accounts a posting needs and nobody used yet (a player's first payout, say). In a fixed
# order, so two batches creating the same accounts wait for each other instead of deadlocking.
ENSURE_ACCOUNTS = text(
    """
    INSERT INTO ledger_accounts (code, kind, currency)
    SELECT DISTINCT v.code, v.kind, v.currency
    FROM unnest(CAST(:codes AS text[]), CAST(:kinds AS text[]), CAST(:currencies AS text[]))
         AS v(code, kind, currency)
    ORDER BY v.code, v.currency
    ON CONFLICT (code, currency) DO NOTHING
    """
)

# The postings, their accounts found by code in the same statement (no id cache to go stale).
POST = text(
    """
    INSERT INTO ledger_entries (transfer_id, kind, from_account_id, to_account_id, amount,
                                currency)
    SELECT v.transfer_id, v.kind, f.id, t.id, v.amount, v.currency
    FROM unnest(CAST(:transfer_ids AS bigint[]), CAST(:kinds AS text[]),
                CAST(:from_codes AS text[]), CAST(:to_codes AS text[]),
                CAST(:amounts AS numeric[]), CAST(:currencies AS text[]))
         AS v(transfer_id, kind, from_code, to_code, amount, currency)
    JOIN ledger_accounts f ON f.code = v.from_code AND f.currency = v.currency
    JOIN ledger_accounts t ON t.code = v.to_code AND t.currency = v.currency
    """
)

LOCK_OUTBOX = text("SELECT pg_advisory_xact_lock(:key)")
NEXT_SEQS = text(
    "SELECT nextval(pg_get_serial_sequence('outbox_events', 'seq')) "
    "FROM generate_series(1, :count)"
)
WRITE_EVENTS = text(
    """
    INSERT INTO outbox_events (seq, id, transfer_id, type, payload)
    SELECT v.seq, v.id, v.transfer_id, v.type, CAST(v.payload AS jsonb)
    FROM unnest(CAST(:seqs AS bigint[]), CAST(:ids AS uuid[]), CAST(:transfer_ids AS bigint[]),
                CAST(:types AS text[]), CAST(:payloads AS text[]))
         AS v(seq, id, transfer_id, type, payload)
    """
)


@dataclass(frozen=True)
class _Change:
    """What one row of APPLY sets, for a transfer that was asked or put off."""

    transfer_id: int
    state: str
    attempts: int | None
    streak: int | None
    next_check_at: datetime | None
    outcome: str | None
    error: str | None
    reason: str | None


def apply(engine: Engine, instance: ProviderInstance, asked: Sequence[Asked],
          waiting: Sequence[Claim], refusal: Permission | None, now: datetime,
          jitter_draw: Callable[[], float]) -> dict[int, CheckEnd]:
    """Record and apply the batch's answers, and put off its checks that did not ask."""
    decisions = {one.claim.transfer_id: decide(one.result.outcome, one.claim.poll,
                                               instance.policy, now, jitter_draw)
                 for one in asked}
    changes = [_change(one, decisions[one.claim.transfer_id], now) for one in asked]
    wait = timedelta(seconds=max(refusal.wait_s if refusal else 0.1, 0.1))
    changes += [_Change(claim.transfer_id, State.PENDING.value, None, None, now + wait, None,
                        refusal.reason if refusal else None, None) for claim in waiting]
    token = (asked[0].claim if asked else waiting[0]).lease_token if changes else None
    with engine.begin() as connection:
        applied = _apply(connection, changes, token, now) if changes else {}
        if asked:
            connection.execute(RECORD_CHECKS, _check_rows(asked, applied, now))
        finals = [row for row in applied.values()
                  if row.state in (State.SUCCEEDED.value, State.FAILED.value)]
        if finals:
            _post(connection, finals)
        reasons = {change.transfer_id: change.reason for change in changes}
        news = [row for row in applied.values() if row.state != State.PENDING.value]
        if news:
            _write_events(connection, news, reasons, now)
    _count(instance.name, asked, waiting, refusal, applied)  # committed: now it counts
    done: dict[int, CheckEnd] = {}
    for one in asked:
        row = applied.get(one.claim.transfer_id)
        done[one.claim.transfer_id] = CheckEnd.LEASE_LOST if row is None else _END_OF[row.state]
    for claim in waiting:
        waited = claim.transfer_id in applied
        done[claim.transfer_id] = CheckEnd.DEFERRED if waited else CheckEnd.SKIPPED
    if log.isEnabledFor(logging.INFO):  # committed: now it happened
        _tell(asked, waiting, refusal, decisions, applied, done)
    return done


def _tell(asked: Sequence[Asked], waiting: Sequence[Claim], refusal: Permission | None,
          decisions: dict[int, Decision], applied: dict[int, Any], done: dict[int,
                                                                              CheckEnd]) -> None:
    """One line per checked transfer: the answer, the attempt, and what became of it."""
    for one in asked:
        claim = one.claim
        decision = decisions[claim.transfer_id]
        row = applied.get(claim.transfer_id)
        result = done[claim.transfer_id]
        more: dict[str, Any] = {}
        if result is CheckEnd.RESCHEDULED and decision.next_check_at is not None:
            more["next_check_at"] = decision.next_check_at.isoformat()
        elif result is CheckEnd.RESOLVED and row is not None:
            more["state"], more["by"] = row.state, row.resolved_by
        elif result is CheckEnd.REVIEW:
            more["reason"] = _reason(decision.reason, one.result)
        log.info("transfer checked", transfer_id=claim.transfer_id, provider=claim.provider,
                 tx_id=claim.ref.tx_id, attempt=row.attempts if row else decision.attempts,
                 outcome=one.result.outcome.value, decision=result.value,
                 http_status=one.result.http_status, latency_ms=one.result.latency_ms, **more)
    for claim in waiting:
        if done[claim.transfer_id] is CheckEnd.DEFERRED:
            log.info("transfer check deferred", transfer_id=claim.transfer_id,
                     provider=claim.provider, tx_id=claim.ref.tx_id,
                     attempt=claim.poll.attempts, decision=CheckEnd.DEFERRED.value,
                     reason=refusal.reason if refusal else None)


def _count(provider: str, asked: Sequence[Asked], waiting: Sequence[Claim],
           refusal: Permission | None, applied: dict[int, Any]) -> None:
    """The committed batch's metrics: answers, call times, lags, resolutions, rate limits."""
    rate_limited = sum(1 for one in asked if one.result.outcome is Outcome.RATE_LIMITED)
    if refusal is not None and refusal.reason == OVER_RATE:
        rate_limited += sum(1 for claim in waiting if claim.transfer_id in applied)
    metrics.count_batch(
        provider,
        outcomes=[one.result.outcome.value for one in asked],
        latencies_s=[one.result.latency_ms / 1000 for one in asked],
        lags_s=[(one.started_at - one.claim.due_at).total_seconds()
                for one in asked if one.claim.due_at is not None],
        settled=[(row.state, (row.resolved_at - row.sent_at).total_seconds()
                  if row.resolved_at is not None else None)
                 for row in applied.values() if row.state != State.PENDING.value],
        rate_limited=rate_limited,
    )


def _apply(connection: Connection, changes: Sequence[_Change], token: uuid.UUID | None,
           now: datetime) -> dict[int, Any]:
    rows = connection.execute(APPLY, {
        "ids": [c.transfer_id for c in changes], "states": [c.state for c in changes],
        "attempts": [c.attempts for c in changes], "streaks": [c.streak for c in changes],
        "next_check_at": [c.next_check_at for c in changes],
        "outcomes": [c.outcome for c in changes], "errors": [c.error for c in changes],
        "reasons": [c.reason for c in changes], "token": token, "now": now,
        "by": ENGINE_ACTOR,
    })
    return {row.id: row for row in rows}


def _change(asked: Asked, decision: Decision, now: datetime) -> _Change:
    result = asked.result
    state = {Action.RESOLVE: decision.resolution, Action.REVIEW: State.NEEDS_REVIEW}.get(
        decision.action, State.PENDING)
    assert state is not None, "a resolution decision names its state"
    return _Change(
        transfer_id=asked.claim.transfer_id, state=state.value, attempts=decision.attempts,
        streak=decision.not_found_streak,
        next_check_at=decision.next_check_at if decision.action is Action.RECHECK else None,
        outcome=result.outcome.value, error=clip(result.detail),
        reason=None if decision.action is Action.RECHECK else _reason(decision.reason, result),
    )


def _post(connection: Connection, finals: Sequence[Any]) -> None:
    moves = []
    for row in finals:
        move = ledger.resolution_move(Direction(row.direction), row.provider, row.player_id,
                                      State(row.state))
        if move is not None:
            moves.append((row, move))
    if not moves:
        return
    accounts = sorted({(f"{kind}:{owner}", kind, row.currency)
                       for row, (_, source, target) in moves for kind, owner in (source, target)})
    connection.execute(ENSURE_ACCOUNTS, {"codes": [a[0] for a in accounts],
                                         "kinds": [a[1] for a in accounts],
                                         "currencies": [a[2] for a in accounts]})
    posted = connection.execute(POST, {
        "transfer_ids": [row.id for row, _ in moves],
        "kinds": [kind for _, (kind, _, _) in moves],
        "from_codes": [":".join(source) for _, (_, source, _) in moves],
        "to_codes": [":".join(target) for _, (_, _, target) in moves],
        "amounts": [row.amount for row, _ in moves],
        "currencies": [row.currency for row, _ in moves],
    })
    if posted.rowcount != len(moves):
        raise RuntimeError(f"{len(moves)} postings to write, {posted.rowcount} written: "
                           f"an account is missing")


def _write_events(connection: Connection, rows: Sequence[Any], reasons: dict[int, str | None],
                  now: datetime) -> None:
    connection.execute(LOCK_OUTBOX, {"key": events.OUTBOX_LOCK})
    seqs = sorted(connection.execute(NEXT_SEQS, {"count": len(rows)}).scalars())
    ordered = sorted(rows, key=lambda row: row.id)
    ids = [uuid.uuid4() for _ in ordered]
    types = [events.RESOLVED if row.state in (State.SUCCEEDED.value, State.FAILED.value)
             else events.NEEDS_REVIEW for row in ordered]
    payloads = [json.dumps(events.cloud_event(event_id, seq, kind, row, row.state,
                                              reasons.get(row.id), now))
                for event_id, seq, kind, row in zip(ids, seqs, types, ordered, strict=True)]
    connection.execute(WRITE_EVENTS, {"seqs": seqs, "ids": ids,
                                      "transfer_ids": [row.id for row in ordered],
                                      "types": types, "payloads": payloads})


def _check_rows(asked: Sequence[Asked], applied: dict[int, Any],
                now: datetime) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {"transfer_ids": [], "started_at": [], "checked_at": [],
                                     "applied": []}
    for one in asked:
        columns["transfer_ids"].append(one.claim.transfer_id)
        columns["started_at"].append(one.started_at)
        columns["checked_at"].append(now)
        columns["applied"].append(one.claim.transfer_id in applied)
        for name, value in check_columns(one.result).items():
            columns.setdefault(name, []).append(value)
    return columns


def check_columns(result: CheckResult) -> dict[str, Any]:
    """What a check row keeps of an answer, each value bounded to fit its column."""
    return {
        "outcome": result.outcome.value,
        "http_status": result.http_status,
        "latency_ms": result.latency_ms,
        "request": result.request[:MAX_ERROR_CHARS],
        "response_excerpt": result.raw,
        "error": clip(result.detail),
        "provider_status": (result.provider_status or None) and result.provider_status[:64],
        "provider_amount": storable(result.provider_amount),
        "provider_currency": (result.provider_currency or None)
        and result.provider_currency[:16],
    }


def poll_of(transfer: Transfer) -> PollState:
    return PollState(transfer.sent_at, transfer.attempts, transfer.not_found_streak,
                     registered_at=transfer.created_at)


def storable(amount: Decimal | None) -> Decimal | None:
    """A provider's amount as NUMERIC(20, 4) can hold it; an absurd one is kept out of the row."""
    if amount is None or not amount.is_finite() or abs(amount) >= Decimal(10) ** 16:
        return None
    return amount


def _reason(decision_reason: str | None, result: CheckResult) -> str:
    parts = [part for part in (decision_reason, result.detail) if part]
    return clip(": ".join(parts)) or result.outcome.value


def clip(text_: str | None) -> str | None:
    return text_[:MAX_ERROR_CHARS] if text_ else text_
