"""The sweep: find what is due in Postgres and hand it to the check tasks.

Runs every second from beat. Each due pending transfer is claimed with FOR UPDATE SKIP LOCKED
and given a lease: a fresh `lease_token`, and `next_check_at` pushed to when the lease runs out.
The check that holds the token is the only one that may apply an answer; if its message is
lost (Redis restarted empty, a worker died), the transfer simply becomes due again when the
lease runs out and the next sweep claims it anew. Two sweeps at once never claim one row twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, text

from models import Transfer
from worker.db import transaction
from worker.providers.instance import ProviderInstance
from worker.resolution import ENGINE_ACTOR, send_to_review


@dataclass(frozen=True)
class Claim:
    transfer_id: int
    lease_token: uuid.UUID
    provider: str


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
    """
)

# Checks of this instance under way now: claimed rows whose lease has not run out.
LEASED = text(
    """
    SELECT count(*) FROM transfers
    WHERE state = 'pending' AND provider = :provider
      AND lease_token IS NOT NULL AND next_check_at > :now
    """
)

CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM transfers
        WHERE state = 'pending' AND provider = :provider AND next_check_at <= :now
        ORDER BY next_check_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE transfers t
    SET lease_token = :token, next_check_at = :lease_until, updated_at = :now,
        version = t.version + 1
    FROM due WHERE t.id = due.id
    RETURNING t.id
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
                        now: datetime, limit: int) -> int:
    """Due transfers of an instance missing from the providers file go to needs_review.

    Nobody can ask the provider about them, so waiting would strand them (no check, no event,
    no review). An admin's recheck after the instance is back puts them in the queue again.
    """
    with transaction(engine) as session:
        missing = [name for name in session.execute(PENDING_INSTANCES).scalars()
                   if name not in providers]
    reviewed = 0
    for name in missing:
        with transaction(engine) as session:
            ids = session.execute(DUE_OF_INSTANCE, {"provider": name, "now": now,
                                                    "limit": limit}).scalars().all()
            if not ids:
                continue
            transfers = session.execute(
                select(Transfer).where(Transfer.id.in_(ids)).order_by(Transfer.id)
            ).scalars()
            for transfer in transfers:
                send_to_review(session, transfer, by=ENGINE_ACTOR, now=now,
                               reason=unconfigured_reason(name))
                reviewed += 1
    return reviewed


def unconfigured_reason(provider: str) -> str:
    return (f"provider instance {provider!r} is not configured (not in the providers file); "
            f"recheck once it is back")


def expire_in_flight(engine: Engine, now: datetime, limit: int) -> int:
    """In-flight transfers past their deadline with no answer become pending, due now."""
    with transaction(engine) as session:
        result = session.execute(EXPIRE_IN_FLIGHT, {"now": now, "limit": limit})
        return int(result.rowcount)  # type: ignore[attr-defined]


def claim_due(engine: Engine, instance: ProviderInstance, now: datetime, lease: timedelta,
              limit: int) -> list[Claim]:
    """Claim up to `limit` due transfers of one instance, within its concurrency."""
    with transaction(engine) as session:
        under_way = session.execute(LEASED, {"provider": instance.name, "now": now}).scalar_one()
        room = min(limit, instance.policy.concurrency - under_way)
        if room <= 0:
            return []
        token = uuid.uuid4()
        rows = session.execute(CLAIM, {
            "provider": instance.name,
            "now": now,
            "limit": room,
            "token": token,
            "lease_until": now + lease,
        }).scalars().all()
    return [Claim(transfer_id, token, instance.name) for transfer_id in rows]


def sweep(engine: Engine, providers: Mapping[str, ProviderInstance], now: datetime,
          lease: timedelta, limit: int, dispatch: Callable[[list[Claim]], None]) -> dict[str, int]:
    """One pass: expire overdue in-flight transfers, then claim and dispatch per instance."""
    counts = {"expired_in_flight": expire_in_flight(engine, now, limit),
              "unconfigured_to_review": review_unconfigured(engine, providers, now, limit)}
    for instance in providers.values():
        claims = claim_due(engine, instance, now, lease, limit)
        if claims:
            dispatch(claims)
        counts[instance.name] = len(claims)
    return counts
