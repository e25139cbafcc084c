"""Every read of the admin console, as SQL in one place.

The command line, the HTTP API and the web page all call these functions, so a filter or a
count means the same thing wherever an admin looks. Functions take an open session and return
plain mappings; `worker.admin.schemas` turns them into the shapes people and scripts see.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from models.transfer import STATES
from worker.admin.causes import CAUSE_SQL
from worker.domain import types

ALL_STATES = STATES
OPEN_STATES = types.OPEN_STATES  # not yet terminal
MAX_PAGE = 500
# The largest id Postgres' BIGINT holds: bigger path or query numbers are refused, not sent.
MAX_ID = 2**63 - 1


class InvalidCursor(ValueError):
    """A pagination cursor this service did not hand out."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the (created_at, id) of its last transfer. Opaque to clients."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            when, _, number = raw.partition("|")
            created_at = datetime.fromisoformat(when)
            if not (number.isascii() and number.isdigit()):  # int() takes ' ١٢_3' too
                raise ValueError(number)
            transfer_id = int(number)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidCursor("is not a cursor returned by this API") from None
        if created_at.tzinfo is None or not 0 < transfer_id <= MAX_ID:
            raise InvalidCursor("is not a cursor returned by this API")
        return cls(created_at, transfer_id)


# A moment given as a time, or as a duration meaning that long before the query runs.
Moment = datetime | timedelta


@dataclass(frozen=True)
class TransferFilter:
    """Which transfers an admin means. Values arrive checked (worker.admin.inputs)."""

    states: Sequence[str] = ALL_STATES
    provider: str | None = None
    tx_id: str | None = None
    older_than: timedelta | None = None  # registered at least this long ago
    contradicted: bool = False  # only transfers a caller's answer contradicted
    cause: str | None = None  # a code of worker.admin.causes
    currency: str | None = None
    registered_after: Moment | None = None  # created_at >= this (inclusive)
    registered_before: Moment | None = None  # created_at < this (exclusive)
    min_amount: Decimal | None = None  # inclusive
    max_amount: Decimal | None = None  # inclusive

    def key(self) -> dict[str, Any]:
        """The filter as plain, stable JSON values: the same filter always gives the same key.

        Durations stay durations (in seconds): a filter given as "registered before 2h" is the
        same filter when repeated a minute later, even though it then reaches other rows.
        """
        def moment(value: Moment | None) -> Any:
            if isinstance(value, timedelta):
                return {"ago_s": value.total_seconds()}
            return None if value is None else value.isoformat()

        return {
            "states": sorted(self.states),
            "provider": self.provider,
            "tx_id": self.tx_id,
            "older_than_s": None if self.older_than is None else self.older_than.total_seconds(),
            "contradicted": self.contradicted,
            "cause": self.cause,
            "currency": self.currency,
            "registered_after": moment(self.registered_after),
            "registered_before": moment(self.registered_before),
            "min_amount": None if self.min_amount is None else f"{self.min_amount:.4f}",
            "max_amount": None if self.max_amount is None else f"{self.max_amount:.4f}",
        }


@dataclass(frozen=True)
class Page:
    items: list[RowMapping]
    next_cursor: str | None = None


# A caller's answer contradicted the transfer's final state (see worker.engine.resolve.resolution).
CONTRADICTED = "EXISTS (SELECT 1 FROM contradictions c WHERE c.transfer_id = t.id)"
TRANSFER_COLUMNS = f"""
    id, provider, direction, tx_id, player_id, player_ref, amount, currency, sent_at, state,
    attempts, not_found_streak, next_check_at, lease_token, last_outcome, last_error,
    last_checked_at, review_reason, registered_by, resolved_at, resolved_by, created_at,
    updated_at, {CONTRADICTED} AS contradicted
"""

# The transfer list: one fixed statement, with a WHERE clause built only from these fragments.
# Oldest first by (created_at, id), which the keyset cursor continues from. The row is aliased
# `t` because the cause expression (worker.admin.causes) is written over `t`.
LIST_TRANSFERS = f"""
    SELECT {TRANSFER_COLUMNS}
    FROM transfers t
    WHERE {{conditions}}
    ORDER BY created_at, id
    LIMIT :limit
"""
_CONDITIONS = {
    "states": "state = ANY(:states)",
    "provider": "provider = :provider",
    "tx_id": "tx_id = :tx_id",
    "created_before": "created_at <= :created_before",
    "contradicted": CONTRADICTED,
    "cause": f"{CAUSE_SQL} = :cause",
    "currency": "currency = :currency",
    "registered_after": "created_at >= :registered_after",
    "registered_before": "created_at < :registered_before",
    "min_amount": "amount >= :min_amount",
    "max_amount": "amount <= :max_amount",
    "after": "(created_at, id) > (:after_created_at, :after_id)",
}


def _where(filters: TransferFilter, now: datetime) -> tuple[list[str], dict[str, Any]]:
    """The names of the fragments a filter uses, and their parameters."""
    params: dict[str, Any] = {"states": list(filters.states)}
    used = ["states"]

    def use(name: str, value: Any) -> None:
        if value is not None:
            params[name] = value
            used.append(name)

    def moment(value: Moment | None) -> datetime | None:
        return now - value if isinstance(value, timedelta) else value

    use("provider", filters.provider)
    use("tx_id", filters.tx_id)
    use("created_before", None if filters.older_than is None else now - filters.older_than)
    if filters.contradicted:
        used.append("contradicted")
    use("cause", filters.cause)
    use("currency", filters.currency)
    use("registered_after", moment(filters.registered_after))
    use("registered_before", moment(filters.registered_before))
    use("min_amount", filters.min_amount)
    use("max_amount", filters.max_amount)
    return used, params


def _conditions(used: Sequence[str]) -> str:
    return " AND ".join(_CONDITIONS[name] for name in used)


def list_transfers(session: Session, filters: TransferFilter, now: datetime, *,
                   limit: int = 50, cursor: Cursor | None = None) -> Page:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    used, params = _where(filters, now)
    params["limit"] = limit + 1
    if cursor is not None:
        params.update(after_created_at=cursor.created_at, after_id=cursor.id)
        used.append("after")
    statement = LIST_TRANSFERS.format(conditions=_conditions(used))
    rows = list(session.execute(text(statement), params).mappings())
    if len(rows) <= limit:
        return Page(rows)
    rows = rows[:limit]
    last = rows[-1]
    return Page(rows, Cursor(last["created_at"], last["id"]).encode())


# What a bulk action acts on: every matching transfer, with what tells whether it changed
# (worker.admin.bulk fingerprints these), its amount for the totals, and one row past the
# limit so that going over it is seen without reading on.
MATCHING = """
    SELECT id, state, updated_at, amount, currency
    FROM transfers t
    WHERE {conditions}
    ORDER BY id
    LIMIT :limit
"""
COUNT_MATCHING = "SELECT count(*) FROM transfers t WHERE {conditions}"


def matching(session: Session, filters: TransferFilter, now: datetime, limit: int
             ) -> list[RowMapping]:
    """Up to `limit` + 1 matching transfers by id: more than `limit` rows means too many."""
    used, params = _where(filters, now)
    statement = MATCHING.format(conditions=_conditions(used))
    return list(session.execute(text(statement), {**params, "limit": limit + 1}).mappings())


def count_matching(session: Session, filters: TransferFilter, now: datetime) -> int:
    used, params = _where(filters, now)
    statement = COUNT_MATCHING.format(conditions=_conditions(used))
    return int(session.execute(text(statement), params).scalar_one())


TRANSFER_BY_ID = text(f"SELECT {TRANSFER_COLUMNS} FROM transfers t WHERE id = :id")
TRANSFER_ID_BY_TX = text("SELECT id FROM transfers WHERE provider = :provider AND tx_id = :tx_id")


def transfer(session: Session, transfer_id: int) -> RowMapping | None:
    if not 0 < transfer_id <= MAX_ID:
        return None
    return session.execute(TRANSFER_BY_ID, {"id": transfer_id}).mappings().one_or_none()


def transfer_id_for(session: Session, provider: str, tx_id: str) -> int | None:
    found = session.execute(TRANSFER_ID_BY_TX, {"provider": provider, "tx_id": tx_id})
    return found.scalar_one_or_none()


# The latest :limit checks (NULL: all of them), returned oldest first.
CHECKS = text(
    """
    SELECT * FROM (
        SELECT id, checked_at, outcome, http_status, latency_ms, request, response_excerpt,
               error, provider_status, provider_amount, provider_currency, applied
        FROM checks WHERE transfer_id = :id
        ORDER BY id DESC
        LIMIT :limit
    ) latest ORDER BY id
    """
)
CHECK_COUNT = text("SELECT count(*) FROM checks WHERE transfer_id = :id")
LEDGER_ENTRIES = text(
    """
    SELECT e.id, e.kind, source.code AS from_account, target.code AS to_account, e.amount,
           e.currency, e.created_at
    FROM ledger_entries e
    JOIN ledger_accounts source ON source.id = e.from_account_id
    JOIN ledger_accounts target ON target.id = e.to_account_id
    WHERE e.transfer_id = :id
    ORDER BY e.id
    """
)
EVENTS = text(
    """
    SELECT seq, id, type, payload, created_at, published_at
    FROM outbox_events WHERE transfer_id = :id
    ORDER BY seq
    """
)
AUDIT = text(
    """
    SELECT id, actor, action, reason, details, created_at
    FROM audit_records WHERE transfer_id = :id
    ORDER BY id
    """
)


CONTRADICTIONS = text(
    """
    SELECT id, final_state, reported_state, reported_by, reported_at
    FROM contradictions WHERE transfer_id = :id
    ORDER BY id
    """
)


AUDIT_RECORD = text(
    "SELECT id, actor, action, reason, details, created_at FROM audit_records WHERE id = :id"
)


def audit_record(session: Session, record_id: int) -> RowMapping:
    return session.execute(AUDIT_RECORD, {"id": record_id}).mappings().one()


@dataclass(frozen=True)
class TransferHistory:
    """A transfer and everything that happened to it."""

    transfer: RowMapping
    checks: list[RowMapping]
    checks_total: int
    ledger_entries: list[RowMapping]
    events: list[RowMapping]
    audit: list[RowMapping]
    contradictions: list[RowMapping]


def history(session: Session, transfer_id: int, check_limit: int | None = 1000
            ) -> TransferHistory | None:
    row = transfer(session, transfer_id)
    if row is None:
        return None
    params = {"id": transfer_id}
    return TransferHistory(
        transfer=row,
        checks=list(session.execute(CHECKS, {**params, "limit": check_limit}).mappings()),
        checks_total=int(session.execute(CHECK_COUNT, params).scalar_one()),
        ledger_entries=list(session.execute(LEDGER_ENTRIES, params).mappings()),
        events=list(session.execute(EVENTS, params).mappings()),
        audit=list(session.execute(AUDIT, params).mappings()),
        contradictions=list(session.execute(CONTRADICTIONS, params).mappings()),
    )


COUNTS_BY_PROVIDER_AND_STATE = text(
    """
    SELECT provider, state, count(*) AS count
    FROM transfers
    GROUP BY provider, state
    ORDER BY provider, state
    """
)
OLDEST_PENDING = text(
    """
    SELECT id, provider, tx_id, created_at
    FROM transfers WHERE state = 'pending'
    ORDER BY created_at, id
    LIMIT 1
    """
)
# Pending transfers by how long ago they were registered; the bounds come from `AGE_BUCKETS`.
PENDING_BY_AGE = text(
    """
    SELECT count(*) FILTER (WHERE created_at > :b1) AS under_1m,
           count(*) FILTER (WHERE created_at <= :b1 AND created_at > :b2) AS from_1m_to_10m,
           count(*) FILTER (WHERE created_at <= :b2 AND created_at > :b3) AS from_10m_to_1h,
           count(*) FILTER (WHERE created_at <= :b3 AND created_at > :b4) AS from_1h_to_24h,
           count(*) FILTER (WHERE created_at <= :b4) AS over_24h
    FROM transfers WHERE state = 'pending'
    """
)
AGE_BUCKETS = (
    ("under_1m", "under 1 min"),
    ("from_1m_to_10m", "1-10 min"),
    ("from_10m_to_1h", "10-60 min"),
    ("from_1h_to_24h", "1-24 h"),
    ("over_24h", "older than 24 h"),
)
_BUCKET_BOUNDS = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1),
                  timedelta(hours=24))
RESOLUTIONS_SINCE = text(
    """
    SELECT count(*) AS total,
           count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE state = 'failed') AS failed,
           count(*) FILTER (WHERE resolved_by LIKE 'admin:%') AS by_hand
    FROM transfers WHERE resolved_at >= :since
    """
)


CONTRADICTED_COUNT = text("SELECT count(DISTINCT transfer_id) FROM contradictions")


@dataclass(frozen=True)
class Stats:
    counts: list[RowMapping]
    oldest_pending: RowMapping | None
    pending_by_age: Mapping[str, int]
    resolutions_last_hour: Mapping[str, int]
    contradicted: int


def stats(session: Session, now: datetime) -> Stats:
    bounds = {f"b{n}": now - bound for n, bound in enumerate(_BUCKET_BOUNDS, start=1)}
    return Stats(
        counts=list(session.execute(COUNTS_BY_PROVIDER_AND_STATE).mappings()),
        oldest_pending=session.execute(OLDEST_PENDING).mappings().one_or_none(),
        pending_by_age=dict(session.execute(PENDING_BY_AGE, bounds).mappings().one()),
        resolutions_last_hour=dict(session.execute(
            RESOLUTIONS_SINCE, {"since": now - timedelta(hours=1)}).mappings().one()),
        contradicted=int(session.execute(CONTRADICTED_COUNT).scalar_one()),
    )


HEALTH_WINDOW = timedelta(minutes=15)

# The checks of the last minutes per instance: a row per outcome, and a total row per instance
# (outcome NULL) with its p95 call latency. ix_checks_checked_at keeps the read to the window,
# and each check finds its instance by the transfers' primary key.
PROVIDER_HEALTH = text(
    """
    SELECT t.provider, CASE WHEN GROUPING(c.outcome) = 1 THEN NULL ELSE c.outcome END AS outcome,
           count(*) AS checks,
           percentile_disc(0.95) WITHIN GROUP (ORDER BY c.latency_ms) AS p95_ms
    FROM checks c JOIN transfers t ON t.id = c.transfer_id
    WHERE c.checked_at >= :since
    GROUP BY GROUPING SETS ((t.provider, c.outcome), (t.provider))
    """
)


@dataclass(frozen=True)
class CheckHealth:
    """One instance's checks over the health window."""

    checks: int
    outcomes: Mapping[str, int]  # most frequent first
    p95_ms: int | None

    def share(self, outcome: str) -> float:
        return self.outcomes.get(outcome, 0) / self.checks if self.checks else 0.0


def provider_health(session: Session, now: datetime,
                    window: timedelta = HEALTH_WINDOW) -> dict[str, CheckHealth]:
    """Per instance with checks in the window: how many, the count of each outcome, p95."""
    totals: dict[str, tuple[int, int | None]] = {}
    outcomes: dict[str, dict[str, int]] = {}
    for row in session.execute(PROVIDER_HEALTH, {"since": now - window}).mappings():
        if row["outcome"] is None:
            totals[row["provider"]] = (int(row["checks"]), row["p95_ms"])
        else:
            outcomes.setdefault(row["provider"], {})[row["outcome"]] = int(row["checks"])
    return {
        name: CheckHealth(checks, dict(sorted(outcomes.get(name, {}).items(),
                                              key=lambda item: (-item[1], item[0]))), p95)
        for name, (checks, p95) in totals.items()
    }


PING = text("SELECT 1")


def database_reachable(session: Session) -> bool:
    return session.execute(PING).scalar_one() == 1
