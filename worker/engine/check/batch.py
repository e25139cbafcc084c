"""Checks of claimed transfers, a batch at a time: ask the provider, then apply every answer.

A batch is what one claim leased of one instance (all under one lease token). It is admitted by
the guard as one decision (worker.engine.check.throttle), its calls run concurrently on the
process's call pool (Runtime.calls), and all its answers are recorded and applied in one
transaction (worker.engine.resolve.apply_batch). The claim handed over everything the calls
need, so nothing is read before asking.

Safe to run twice: every write is guarded by the transfer still being pending and still
leased to this batch's token, and a batch whose lease is over asks nothing. The provider is
queried outside any database transaction, so a slow provider never holds a row lock or a
connection.

A provider call never outlives the lease: it gets the instance's `deadline_s`, but at most
LEASE_SHARE of what is left of the lease when the batch is admitted; the rest is room to record
and apply the answers. So a slow provider's checks end while they still hold their transfers,
the sweep never hands the same transfers out again meanwhile, and together with the in-flight
slots no instance has more calls under way than its `concurrency`.
"""

from __future__ import annotations

import contextvars
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, text

from models import Check, Transfer
from worker.domain.types import Direction, State, TransferRef
from worker.engine.check.throttle import Admission, Permission
from worker.engine.resolve import apply_batch
from worker.engine.resolve.apply_batch import Asked, CheckEnd
from worker.engine.resolve.resolution import ENGINE_ACTOR, send_to_review
from worker.engine.sweep.due import CLAIM_COLUMNS, Claim, claim_from_row, unconfigured_reason
from worker.metrics import engine as metrics
from worker.process import logs, tracing
from worker.process.db import transaction
from worker.providers.base import CheckResult, ProviderAdapter
from worker.providers.instance import ProviderInstance

LEASE_SHARE = 0.5  # of the lease still left when a batch starts, the most a call may use
MIN_CALL_S = 1.0  # with a share of the lease shorter than this, do not ask: put the check off
LEASE_TOO_SHORT = Permission(False, 0.1, "too little of the lease left to ask the provider")

log = logs.get(__name__)

AdapterFor = Callable[[ProviderInstance], ProviderAdapter[Any]]


class Guard(Protocol):
    """What a batch asks before its calls and tells after them (worker.engine.check.throttle)."""

    def admit(self, instance: ProviderInstance, wanted: int, hold_s: float) -> Admission: ...

    def settle(self, instance: ProviderInstance, admission: Admission,
               transport_errors: Sequence[bool]) -> None: ...


class NoGuard:
    """Lets every check through: for tools and tests that need no shared limits."""

    def admit(self, instance: ProviderInstance, wanted: int, hold_s: float) -> Admission:
        return Admission(wanted)

    def settle(self, instance: ProviderInstance, admission: Admission,
               transport_errors: Sequence[bool]) -> None:
        return None


def run_batch(
    engine: Engine,
    providers: Mapping[str, ProviderInstance],
    claims: Sequence[Claim],
    adapter_for: AdapterFor,
    guard: Guard,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    jitter_draw: Callable[[], float] = random.random,
    calls: Executor | None = None,
) -> dict[int, CheckEnd]:
    """Check every claim of one claim statement (one instance, one lease token)."""
    if not claims:
        return {}
    with tracing.span("resolver.check_batch", provider=claims[0].provider,
                      batch_size=len(claims),
                      transfer_ids=[claim.transfer_id for claim in claims]) as batch:
        done = _run_batch(engine, providers, claims, adapter_for, guard, clock, jitter_draw,
                          calls)
        tracing.set_attributes(batch, **_tally(done))
        return done


def _run_batch(engine: Engine, providers: Mapping[str, ProviderInstance],
               claims: Sequence[Claim], adapter_for: AdapterFor, guard: Guard,
               clock: Callable[[], datetime], jitter_draw: Callable[[], float],
               calls: Executor | None) -> dict[int, CheckEnd]:
    instance = providers.get(claims[0].provider)
    if instance is None:
        return _review_unconfigured(engine, claims, clock())
    now = clock()
    if claims[0].lease_until <= now:
        return {claim.transfer_id: CheckEnd.SKIPPED for claim in claims}  # another may hold them
    budget = call_budget(instance, (claims[0].lease_until - now).total_seconds())
    if budget is None:
        return _apply(engine, instance, [], claims, LEASE_TOO_SHORT, now, jitter_draw)
    admission = guard.admit(instance, len(claims), budget)
    asking, waiting = claims[:admission.granted], claims[admission.granted:]
    asked: list[Asked] = []
    try:
        asked = ask_all(instance, asking, adapter_for, budget, clock, calls)
    finally:
        guard.settle(instance, admission,
                     [one.result.transport_error for one in sorted(asked, key=_ended)])
    return _apply(engine, instance, asked, waiting, admission.refusal, clock(), jitter_draw)


def _apply(engine: Engine, instance: ProviderInstance, asked: Sequence[Asked],
           waiting: Sequence[Claim], refusal: Permission | None, now: datetime,
           jitter_draw: Callable[[], float]) -> dict[int, CheckEnd]:
    with tracing.span("resolver.apply", provider=instance.name, asked=len(asked),
                      waiting=len(waiting), refusal=refusal.reason if refusal else None) as step:
        done = apply_batch.apply(engine, instance, asked, waiting, refusal, now, jitter_draw)
        tracing.set_attributes(step, **_tally(done))
        return done


def _tally(done: Mapping[int, CheckEnd]) -> dict[str, int]:
    """How many of each outcome, as span attributes (resolver.done.resolved=3...)."""
    tally: dict[str, int] = {}
    for one in done.values():
        tally[f"done.{one.value}"] = tally.get(f"done.{one.value}", 0) + 1
    return tally


def _ended(asked: Asked) -> float:
    return asked.ended


def ask_all(instance: ProviderInstance, claims: Sequence[Claim], adapter_for: AdapterFor,
            budget: float, clock: Callable[[], datetime],
            calls: Executor | None) -> list[Asked]:
    """Ask about every claim, concurrently on `calls` (in this thread when there is one claim)."""

    def ask(claim: Claim) -> Asked:
        with tracing.span("resolver.provider_call", provider=instance.name,
                          transfer_id=claim.transfer_id, tx_id=claim.ref.tx_id,
                          attempt=claim.poll.attempts + 1, deadline_s=budget) as call:
            started_at = clock()
            result = adapter_for(instance).check(claim.ref, deadline_s=budget)
            tracing.set_attributes(call, outcome=result.outcome.value,
                                   http_status=result.http_status,
                                   transport_error=result.transport_error)
            return Asked(claim, result, started_at, time.monotonic())

    if calls is None or len(claims) == 1:
        return [ask(claim) for claim in claims]
    # Each call runs in a copy of this thread's context, so its span (and its HTTP request's)
    # is a child of the batch's; one copy per call, as a context runs in one thread at a time.
    contexts = [contextvars.copy_context() for _ in claims]
    return list(calls.map(lambda context, claim: context.run(ask, claim), contexts, claims))


def run_check(
    engine: Engine,
    providers: Mapping[str, ProviderInstance],
    transfer_id: int,
    lease_token: uuid.UUID,
    adapter_for: AdapterFor,
    guard: Guard,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    jitter_draw: Callable[[], float] = random.random,
) -> CheckEnd:
    """Check one transfer by id: a batch of one, read from the row (the sweep's messages carry
    their claims; this is for tools, tests and check messages of an earlier release)."""
    with engine.begin() as connection:
        row = connection.execute(HELD, {"id": transfer_id, "token": lease_token}).one_or_none()
    if row is None:
        return CheckEnd.SKIPPED
    claim = claim_from_row(row, lease_token, row.next_check_at)  # a claim's lease lapses then
    return run_batch(engine, providers, [claim], adapter_for, guard, clock,
                     jitter_draw)[transfer_id]


# The transfer as its claim saw it, while the claim's lease token still holds it.
HELD = text(
    f"""
    SELECT {CLAIM_COLUMNS}, next_check_at FROM transfers
    WHERE id = :id AND state = 'pending' AND lease_token = :token
    """
)


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
                 jitter_draw: Callable[[], float], started_at: datetime | None = None) -> CheckEnd:
    """Apply one answer that came back for a transfer (tools and tests; the engine batches)."""
    with transaction(engine) as session:
        transfer = session.get(Transfer, transfer_id)
        assert transfer is not None, f"transfer {transfer_id} does not exist"
        claim = Claim(transfer_id, lease_token, transfer.provider, to_ref(transfer),
                      apply_batch.poll_of(transfer), now)
    asked = Asked(claim, result, started_at or now, time.monotonic())
    return apply_batch.apply(engine, instance, [asked], [], None, now, jitter_draw)[transfer_id]


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


def _review_unconfigured(engine: Engine, claims: Sequence[Claim],
                         now: datetime) -> dict[int, CheckEnd]:
    """The instance was removed from the provider file: nobody can ask about these transfers."""
    done: dict[int, CheckEnd] = {}
    with transaction(engine) as session:
        for claim in claims:
            transfer = session.get(Transfer, claim.transfer_id, with_for_update=True)
            if transfer is None or transfer.state != "pending" \
                    or transfer.lease_token != claim.lease_token:
                done[claim.transfer_id] = CheckEnd.SKIPPED
                continue
            send_to_review(session, transfer, by=ENGINE_ACTOR, now=now,
                           reason=unconfigured_reason(transfer.provider))
            done[claim.transfer_id] = CheckEnd.REVIEW
    reviewed = sum(1 for result in done.values() if result is CheckEnd.REVIEW)
    for claim in claims:  # committed
        if done[claim.transfer_id] is CheckEnd.REVIEW:
            log.info("transfer sent to review", transfer_id=claim.transfer_id,
                     provider=claim.provider, tx_id=claim.ref.tx_id, attempt=claim.poll.attempts,
                     outcome=State.NEEDS_REVIEW.value, by=ENGINE_ACTOR,
                     reason=unconfigured_reason(claim.provider))
    if reviewed:
        metrics.count_resolutions(claims[0].provider, "engine",
                                  [(State.NEEDS_REVIEW.value, None)] * reviewed)
    return done


def _check_row(transfer_id: int, result: CheckResult, now: datetime, applied: bool,
               started_at: datetime | None) -> Check:
    """A check row as the ORM writes it (the benchmark's naive contender records its checks so)."""
    return Check(transfer_id=transfer_id, started_at=started_at, checked_at=now, applied=applied,
                 **apply_batch.check_columns(result))
