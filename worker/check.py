"""One check of one claimed transfer: ask the provider, record the answer, apply the decision.

Safe to run twice: a check that no longer holds the transfer's lease asks nothing, and the
answer is applied under a row lock only while the transfer is still pending and the lease is
still this check's. The provider is queried outside any database transaction, so a slow
provider never holds a row lock or a connection.

A provider call never outlives the lease: it gets the instance's `deadline_s`, but at most
LEASE_SHARE of what is left of the lease when it starts; the rest is room to record and apply
the answer. So a slow provider's checks end while they still hold their transfers, the sweep
never hands the same transfers out again meanwhile, and together with the in-flight slots
(Guard.enter) no instance has more calls under way than its `concurrency`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Check, Transfer
from worker.db import transaction
from worker.domain.policy import Action, PollState, decide
from worker.domain.types import Direction, State, TransferRef
from worker.providers.base import CheckResult, ProviderAdapter
from worker.providers.instance import ProviderInstance
from worker.resolution import ENGINE_ACTOR, resolve, send_to_review
from worker.sweep import unconfigured_reason
from worker.throttle import Permission

MAX_ERROR_CHARS = 1000
LEASE_SHARE = 0.5  # of the lease still left when a call starts, the most the call may use
MIN_CALL_S = 1.0  # with a share of the lease shorter than this, do not ask: put the check off
LEASE_TOO_SHORT = Permission(False, 0.1, "too little of the lease left to ask the provider")


class Done(StrEnum):
    SKIPPED = "skipped"  # not pending any more, or the lease belongs to another check
    DEFERRED = "deferred"  # rate limit or circuit breaker said not now
    RESOLVED = "resolved"
    REVIEW = "needs_review"
    RESCHEDULED = "rescheduled"
    LEASE_LOST = "lease_lost"  # answer recorded, but another check owns the transfer now


class Guard(Protocol):
    """What the check asks before and tells after a provider call (see worker.throttle)."""

    def enter(self, instance: ProviderInstance, hold_s: float) -> Permission: ...

    def leave(self, instance: ProviderInstance, permission: Permission) -> None: ...

    def acquire(self, instance: ProviderInstance) -> Permission: ...

    def record(self, instance: ProviderInstance, transport_error: bool) -> None: ...


class NoGuard:
    """Lets every check through: for tools and tests that need no shared limits."""

    def enter(self, instance: ProviderInstance, hold_s: float) -> Permission:
        return Permission(True)

    def leave(self, instance: ProviderInstance, permission: Permission) -> None:
        return None

    def acquire(self, instance: ProviderInstance) -> Permission:
        return Permission(True)

    def record(self, instance: ProviderInstance, transport_error: bool) -> None:
        return None


def run_check(
    engine: Engine,
    providers: Mapping[str, ProviderInstance],
    transfer_id: int,
    lease_token: uuid.UUID,
    adapter_for: Callable[[ProviderInstance], ProviderAdapter[Any]],
    guard: Guard,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    jitter_draw: Callable[[], float] = random.random,
) -> Done:
    with transaction(engine) as session:
        transfer = session.get(Transfer, transfer_id)
        if transfer is None or not _holds_lease(transfer, lease_token):
            return Done.SKIPPED
        ref = to_ref(transfer)
        # A claim sets next_check_at to when its lease lapses.
        lease_until = transfer.next_check_at or clock()
    instance = providers.get(ref.provider)
    if instance is None:
        return _review_unconfigured(engine, transfer_id, lease_token, clock())

    budget = call_budget(instance, (lease_until - clock()).total_seconds())
    if budget is None:
        return _defer(engine, transfer_id, lease_token, LEASE_TOO_SHORT, clock())
    slot = guard.enter(instance, budget)
    if not slot.allowed:
        return _defer(engine, transfer_id, lease_token, slot, clock())
    try:
        permission = guard.acquire(instance)
        started_at = clock()
        result = adapter_for(instance).check(ref, deadline_s=budget) \
            if permission.allowed else None
    finally:
        guard.leave(instance, slot)
    if result is None:
        return _defer(engine, transfer_id, lease_token, permission, clock())
    guard.record(instance, result.transport_error)
    return apply_result(engine, instance, transfer_id, lease_token, result, clock(), jitter_draw,
                        started_at=started_at)


def call_budget(instance: ProviderInstance, lease_left_s: float) -> float | None:
    """The total deadline of one provider call: the instance's, within the lease's share.

    None when the lease's share is too short to ask at all (the check message waited long).
    """
    share = LEASE_SHARE * lease_left_s
    if share < MIN_CALL_S:
        return None
    return min(instance.deadline_s, share)


def apply_result(engine: Engine, instance: ProviderInstance, transfer_id: int,
                 lease_token: uuid.UUID, result: CheckResult, now: datetime,
                 jitter_draw: Callable[[], float], started_at: datetime | None = None) -> Done:
    with transaction(engine) as session:
        transfer = _locked(session, transfer_id)
        mine = _holds_lease(transfer, lease_token)
        session.add(_check_row(transfer_id, result, now, applied=mine, started_at=started_at))
        if not mine:
            return Done.LEASE_LOST

        poll = PollState(transfer.sent_at, transfer.attempts, transfer.not_found_streak,
                         registered_at=transfer.created_at)
        decision = decide(result.outcome, poll, instance.policy, now, jitter_draw)
        transfer.attempts = decision.attempts
        transfer.not_found_streak = decision.not_found_streak
        transfer.last_outcome = result.outcome.value
        transfer.last_error = _clip(result.detail)
        transfer.last_checked_at = now
        if decision.action is Action.RESOLVE:
            assert decision.resolution is not None
            resolve(session, transfer, decision.resolution, by=ENGINE_ACTOR,
                    reason=_reason(decision.reason, result), now=now)
            return Done.RESOLVED
        if decision.action is Action.REVIEW:
            send_to_review(session, transfer, reason=_reason(decision.reason, result),
                           by=ENGINE_ACTOR, now=now)
            return Done.REVIEW
        transfer.next_check_at = decision.next_check_at
        transfer.lease_token = None
        transfer.updated_at = now
        return Done.RESCHEDULED


def to_ref(transfer: Transfer) -> TransferRef:
    return TransferRef(
        provider=transfer.provider,
        tx_id=transfer.tx_id,
        direction=Direction(transfer.direction),
        player_id=transfer.player_id,
        player_ref=transfer.player_ref,
        amount=transfer.amount,
        currency=transfer.currency,
        sent_at=transfer.sent_at,
    )


def _holds_lease(transfer: Transfer, lease_token: uuid.UUID) -> bool:
    return transfer.state == State.PENDING and transfer.lease_token == lease_token


def _locked(session: Session, transfer_id: int) -> Transfer:
    return session.execute(
        select(Transfer).where(Transfer.id == transfer_id).with_for_update()
    ).scalar_one()


def _defer(engine: Engine, transfer_id: int, lease_token: uuid.UUID, permission: Permission,
           now: datetime) -> Done:
    with transaction(engine) as session:
        transfer = _locked(session, transfer_id)
        if not _holds_lease(transfer, lease_token):
            return Done.SKIPPED
        transfer.next_check_at = now + timedelta(seconds=max(permission.wait_s, 0.1))
        transfer.lease_token = None
        transfer.last_error = permission.reason
        transfer.updated_at = now
    return Done.DEFERRED


def _review_unconfigured(engine: Engine, transfer_id: int, lease_token: uuid.UUID,
                         now: datetime) -> Done:
    """The instance was removed from the provider file: nobody can ask about this transfer."""
    with transaction(engine) as session:
        transfer = _locked(session, transfer_id)
        if not _holds_lease(transfer, lease_token):
            return Done.SKIPPED
        send_to_review(session, transfer, by=ENGINE_ACTOR, now=now,
                       reason=unconfigured_reason(transfer.provider))
    return Done.REVIEW


def _check_row(transfer_id: int, result: CheckResult, now: datetime, applied: bool,
               started_at: datetime | None) -> Check:
    return Check(
        transfer_id=transfer_id,
        started_at=started_at,
        checked_at=now,
        outcome=result.outcome.value,
        http_status=result.http_status,
        latency_ms=result.latency_ms,
        request=result.request[:MAX_ERROR_CHARS],
        response_excerpt=result.raw,
        error=_clip(result.detail),
        provider_status=(result.provider_status or None) and result.provider_status[:64],
        provider_amount=_storable(result.provider_amount),
        provider_currency=(result.provider_currency or None) and result.provider_currency[:16],
        applied=applied,
    )


def _storable(amount: Decimal | None) -> Decimal | None:
    """A provider's amount as NUMERIC(20, 4) can hold it; an absurd one is kept out of the row."""
    if amount is None or not amount.is_finite() or abs(amount) >= Decimal(10) ** 16:
        return None
    return amount


def _reason(decision_reason: str | None, result: CheckResult) -> str:
    parts = [part for part in (decision_reason, result.detail) if part]
    return _clip(": ".join(parts)) or result.outcome.value


def _clip(text: str | None) -> str | None:
    return text[:MAX_ERROR_CHARS] if text else text
