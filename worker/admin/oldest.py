"""The oldest transfer of each state that is not final, for the dashboard's first card.

The card once showed only the oldest `pending` one, and said "Nothing is pending" while
transfers waited in review or in flight. It now names the oldest of every open state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from worker.admin.queries import OPEN_STATES

# One index probe per state (ix_transfers_state_created), however long the queue.
OLDEST_BY_STATE = text(
    """
    SELECT t.id, t.provider, t.tx_id, t.state, t.created_at
    FROM unnest(CAST(:states AS text[])) WITH ORDINALITY AS s(state, rank)
    CROSS JOIN LATERAL (
        SELECT id, provider, tx_id, state, created_at FROM transfers
        WHERE state = s.state ORDER BY created_at, id LIMIT 1
    ) AS t
    ORDER BY s.rank
    """
)


@dataclass(frozen=True)
class Oldest:
    id: int
    provider: str
    tx_id: str
    state: str
    created_at: datetime
    age_s: float


def oldest_open(session: Session, now: datetime) -> list[Oldest]:
    """The oldest transfer in flight, pending and in review (states with none are left out),
    in that order."""
    rows = session.execute(OLDEST_BY_STATE, {"states": list(OPEN_STATES)}).mappings()
    return [Oldest(**row, age_s=max(0.0, (now - row["created_at"]).total_seconds()))
            for row in rows]
