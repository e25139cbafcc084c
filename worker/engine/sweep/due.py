"""The sweep: find what is due in Postgres and hand it to the check tasks.

Runs every second from beat. Each due pending transfer is claimed with FOR UPDATE SKIP LOCKED
and given a lease: a fresh `lease_token`, and `next_check_at` pushed to when the lease runs out.
The check that holds the token is the only one that may apply an answer; if its message is
lost (Redis restarted empty, a worker died), the transfer simply becomes due again when the
lease runs out and the next sweep claims it anew. Two sweeps at once never claim one row twice.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select, text

from models import Transfer
from worker.domain.policy import PollState
from worker.domain.types import Direction, TransferRef
from worker.engine.resolve.resolution import ENGINE_ACTOR, send_to_review
from worker.metrics import engine as metrics
from worker.process import logs
from worker.process.db import transaction
from worker.providers.instance import ProviderInstance

log = logs.get(__name__)


@dataclass(frozen=True)
class Claim:
    """A claimed transfer and everything its check needs, read by the claim itself.

    The lease makes the snapshot safe to act on without reading the row again: while the lease
    is this claim's, only the check holding it changes the transfer, and every write of that
    check is guarded by the state and the lease token.
    """

    transfer_id: int
    lease_token: uuid.UUID
    provider: str
    ref: TransferRef
    poll: PollState
    lease_until: datetime
    due_at: datetime | None = None  # when the check fell due, before the lease: for metrics

    def to_message(self) -> dict[str, Any]:
        """The claim as JSON for a check message: money as a string, times in ISO 8601."""
        return {
            "id": self.transfer_id, "tx_id": self.ref.tx_id, "direction": self.ref.direction.value,
            "player_id": self.ref.player_id, "player_ref": self.ref.player_ref,
            "amount": str(self.ref.amount), "currency": self.ref.currency,
            "sent_at": self.ref.sent_at.isoformat(), "attempts": self.poll.attempts,
            "not_found_streak": self.poll.not_found_streak,
            "registered_at": _iso(self.poll.registered_at),
            "lease_until": self.lease_until.isoformat(), "due_at": _iso(self.due_at),
        }

    @classmethod
    def from_message(cls, provider: str, lease_token: uuid.UUID,
                     row: Mapping[str, Any]) -> Claim:
        sent_at = datetime.fromisoformat(row["sent_at"])
        registered = row.get("registered_at")
        due = row.get("due_at")
        return cls(
            transfer_id=int(row["id"]), lease_token=lease_token, provider=provider,
            ref=TransferRef(provider=provider, tx_id=row["tx_id"],
                            direction=Direction(row["direction"]), player_id=row["player_id"],
                            player_ref=row["player_ref"], amount=Decimal(row["amount"]),
                            currency=row["currency"], sent_at=sent_at),
            poll=PollState(sent_at, int(row["attempts"]), int(row["not_found_streak"]),
                           registered_at=datetime.fromisoformat(registered)
                           if registered else None),
            lease_until=datetime.fromisoformat(row["lease_until"]),
            due_at=datetime.fromisoformat(due) if due else None,
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def claim_from_row(row: Any, lease_token: uuid.UUID, lease_until: datetime) -> Claim:
    """A Claim from a row holding the columns CLAIM_COLUMNS lists (and `due_at`, if it has)."""
    return Claim(
        transfer_id=row.id, lease_token=lease_token, provider=row.provider,
        ref=TransferRef(provider=row.provider, tx_id=row.tx_id,
                        direction=Direction(row.direction), player_id=row.player_id,
                        player_ref=row.player_ref, amount=row.amount, currency=row.currency,
                        sent_at=row.sent_at),
        poll=PollState(row.sent_at, row.attempts, row.not_found_streak,
                       registered_at=row.created_at),
        lease_until=lease_until,
        due_at=getattr(row, "due_at", None),
    )


# What a check needs of a transfer: what to ask the provider and the state of its polling.
CLAIM_COLUMNS = ("id, provider, tx_id, direction, player_id, player_ref, amount, currency, "
                 "sent_at, attempts, not_found_streak, created_at")


# Returns what each expired transfer's log line names, so telling it costs no read.
EXPIRE_IN_FLIGHT = text(
    """
    WITH overdue AS (
        SELECT id FROM transfers
        WHERE state = 'in_flight' AND next_check_at <= :now
        ORDER BY next_check_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE transfers t
    SET state = 'pending', next_check_at = :now, updated_at = :now, version = t.version + 1,
        last_error = 'no answer reported before the in-flight deadline'
    FROM overdue WHERE t.id = overdue.id
    RETURNING t.id, t.provider, t.tx_id
    """
)

# Checks under way per instance: claimed rows whose lease has not run out. It reads
# ix_transfers_leased, which holds only rows with a lease token (checks under way, and the few
# whose check message was lost), so it costs the same with 300k transfers waiting as with none.
LEASED = text(
    """
    SELECT provider, count(*) FROM transfers
    WHERE state = 'pending' AND provider = ANY(CAST(:providers AS text[]))
      AND lease_token IS NOT NULL AND next_check_at > :now
    GROUP BY provider
    """
)

# Leases the due transfers of several instances, each up to its own room, in one statement,
# and returns what their checks need, so a check never reads the row again before asking.
# Per instance it is an index scan of ix_transfers_due that stops at its limit. `due_at` is
# next_check_at as it was before the lease replaced it: when the check fell due (the metrics'
# check lag).
CLAIM = text(
    f"""
    WITH room AS (
        SELECT * FROM unnest(CAST(:providers AS text[]), CAST(:limits AS int[]))
            AS r(provider, size)
    ),
    due AS (
        SELECT d.id, d.next_check_at AS due_at FROM room, LATERAL (
            SELECT id, next_check_at FROM transfers
            WHERE state = 'pending' AND provider = room.provider AND next_check_at <= :now
            ORDER BY next_check_at
            LIMIT room.size
            FOR UPDATE SKIP LOCKED
        ) d
    )
    UPDATE transfers t
    SET lease_token = :token, next_check_at = :lease_until, updated_at = :now,
        version = t.version + 1
    FROM due WHERE t.id = due.id
    RETURNING {", ".join(f"t.{column}" for column in CLAIM_COLUMNS.split(", "))}, due.due_at
    """
)


# Instances that still have pending transfers. A loose index scan over ix_transfers_due: one
# probe per distinct instance, however many transfers wait, so it can run on every sweep.
PENDING_INSTANCES = text(
    """
    WITH RECURSIVE instances(provider) AS (
        (SELECT provider FROM transfers WHERE state = 'pending' ORDER BY provider LIMIT 1)
        UNION ALL
        SELECT (SELECT t.provider FROM transfers t
                WHERE t.state = 'pending' AND t.provider > instances.provider
                ORDER BY t.provider LIMIT 1)
        FROM instances WHERE instances.provider IS NOT NULL
    )
    SELECT provider FROM instances WHERE provider IS NOT NULL
    """
)

# Due transfers of one instance that is not configured, to be sent to review. Due only: a
# transfer leased by a check in flight is left to that check (which reviews it too).
DUE_OF_INSTANCE = text(
    """
    SELECT id FROM transfers
    WHERE state = 'pending' AND provider = :provider AND next_check_at <= :now
    ORDER BY next_check_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)


def review_unconfigured(engine: Engine, providers: Mapping[str, ProviderInstance],
                        now: datetime, limit: int, missing: set[str] | None = None) -> int:
    """Due transfers of an instance missing from the providers file go to needs_review.

    Nobody can ask the provider about them, so waiting would strand them (no check, no event,
    no review). An admin's recheck after the instance is back puts them in the queue again.
    """
    if missing is None:
        with transaction(engine) as session:
            missing = {name for name in session.execute(PENDING_INSTANCES).scalars()
                       if name not in providers}
    reviewed = 0
    for name in sorted(missing):
        with transaction(engine) as session:
            ids = session.execute(DUE_OF_INSTANCE, {"provider": name, "now": now,
                                                    "limit": limit}).scalars().all()
            transfers: list[Transfer] = list(session.execute(
                select(Transfer).where(Transfer.id.in_(ids)).order_by(Transfer.id)
            ).scalars()) if ids else []
            for transfer in transfers:
                send_to_review(session, transfer, by=ENGINE_ACTOR, now=now,
                               reason=unconfigured_reason(name))
            reviewed_now = [(transfer.id, transfer.tx_id) for transfer in transfers]
        for transfer_id, tx_id in reviewed_now:  # committed
            log.info("transfer sent to review", transfer_id=transfer_id, provider=name,
                     tx_id=tx_id, outcome="needs_review", by=ENGINE_ACTOR,
                     reason=unconfigured_reason(name))
        if ids:
            metrics.count_resolutions(name, "engine", [("needs_review", None)] * len(ids))
            reviewed += len(ids)
    return reviewed


def unconfigured_reason(provider: str) -> str:
    return (f"provider instance {provider!r} is not configured (not in the providers file); "
            f"recheck once it is back")


def expire_in_flight(engine: Engine, now: datetime, limit: int) -> int:
    """In-flight transfers past their deadline with no answer become pending, due now."""
    with transaction(engine) as session:
        rows = session.execute(EXPIRE_IN_FLIGHT, {"now": now, "limit": limit}).all()
    _tell_expired(rows)
    return len(rows)


def _tell_expired(rows: Sequence[Any]) -> None:
    for row in rows:
        log.info("transfer expired from in flight", transfer_id=row.id, provider=row.provider,
                 tx_id=row.tx_id, state="pending")


def _tell_claimed(claims: Sequence[Claim]) -> None:
    """One line per claim statement, and one per transfer at DEBUG (hundreds a second)."""
    if not claims or not log.isEnabledFor(logging.INFO):
        return
    if log.isEnabledFor(logging.DEBUG):
        for claim in claims:
            log.debug("transfer claimed", transfer_id=claim.transfer_id,
                      provider=claim.provider, tx_id=claim.ref.tx_id,
                      attempt=claim.poll.attempts, lease_until=claim.lease_until.isoformat())
    per_provider = Counter(claim.provider for claim in claims)
    log.info("transfers claimed", count=len(claims), providers=dict(sorted(per_provider.items())))


def claim_due(engine: Engine, instance: ProviderInstance, now: datetime, lease: timedelta,
              limit: int) -> list[Claim]:
    """Claim up to `limit` due transfers of one instance, within its concurrency."""
    with engine.begin() as connection:
        claims = claim_in(connection, [instance], now, lease, limit)
    _tell_claimed(claims)
    return claims


def claim_in(connection: Connection, instances: Sequence[ProviderInstance], now: datetime,
             lease: timedelta, limit: int) -> list[Claim]:
    """Due transfers of each instance, up to `limit` and its concurrency, leased with one token.

    Two statements whatever the number of instances: the calls under way, then the claim.
    """
    names = [instance.name for instance in instances]
    under_way = {provider: int(count) for provider, count in
                 connection.execute(LEASED, {"providers": names, "now": now})}
    room = {instance.name: min(limit, instance.policy.concurrency - under_way.get(instance.name, 0))
            for instance in instances}
    room = {name: size for name, size in room.items() if size > 0}
    if not room:
        return []
    token = uuid.uuid4()
    lease_until = now + lease
    rows = connection.execute(CLAIM, {
        "providers": list(room), "limits": list(room.values()), "now": now,
        "token": token, "lease_until": lease_until,
    }).all()
    return sorted((claim_from_row(row, token, lease_until) for row in rows),
                  key=lambda claim: (claim.provider, claim.transfer_id))


def sweep(engine: Engine, providers: Mapping[str, ProviderInstance], now: datetime,
          lease: timedelta, limit: int, dispatch: Callable[[list[Claim]], None]) -> dict[str, int]:
    """One pass: expire overdue in-flight transfers, then claim and dispatch per instance.

    Expiry and every instance's claim share one transaction and five statements, however many
    instances and transfers there are; instances with nothing pending are not asked about.
    """
    with engine.begin() as connection:
        expired = connection.execute(EXPIRE_IN_FLIGHT, {"now": now, "limit": limit}).all()
        waiting = set(connection.execute(PENDING_INSTANCES).scalars())
        asked = [providers[name] for name in sorted(waiting & set(providers))]
        claims = claim_in(connection, asked, now, lease, limit)
    _tell_expired(expired)
    _tell_claimed(claims)
    counts = {"expired_in_flight": len(expired),
              "unconfigured_to_review": review_unconfigured(engine, providers, now, limit,
                                                            waiting - set(providers))}
    by_instance: dict[str, list[Claim]] = {name: [] for name in providers}
    for claim in claims:
        by_instance[claim.provider].append(claim)
    for name, claimed in by_instance.items():
        if claimed:
            dispatch(claimed)
        counts[name] = len(claimed)
    return counts
