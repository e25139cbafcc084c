"""The drill's verdict: each invariant is a function returning its violations.

Each invariant reads what it needs with one query (beside it, with why it reads what it reads)
and judges the rows in a pure function, so the judging is tested on rows made by hand. The
rules here are written down afresh from the README's tables, not taken from the code under
test: a verifier that imported the ledger's own posting rules could not catch them being wrong.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

from resolver_tools.chaos.intake import Acknowledged
from resolver_tools.chaos.scenario import Planned

Key = tuple[str, str]  # (provider instance, tx_id)

REGISTRATIONS = "registrations"
FINAL_STATES = "final states"
LEDGER = "ledger"
OUTBOX = "outbox"
OVERLAP = "checks overlap"
SETTLED = "settled"

INVARIANTS = {
    REGISTRATIONS: "every acknowledged registration is in Postgres; count in = count out",
    FINAL_STATES: "each final state is what its script makes true",
    LEDGER: "balances sum to zero per currency; each transfer has exactly its postings",
    OUTBOX: "one resolution event per final transfer, every event published",
    OVERLAP: "no two checks of one transfer overlapped in time",
    SETTLED: "nothing left pending or in flight, no event left unpublished",
}

FINAL = frozenset({"succeeded", "failed"})
RESOLUTION_EVENTS = frozenset({"transfer.resolved", "transfer.manually_resolved"})
# The provider answers that may resolve a transfer to each state.
RESOLVING_OUTCOMES = {"succeeded": {"SUCCEEDED"}, "failed": {"FAILED", "NOT_FOUND"}}


@dataclass(frozen=True)
class Violation:
    invariant: str
    subject: str  # "provider:tx_id", a currency, or "drill"
    detail: str


def _name(key: Key) -> str:
    return f"{key[0]}:{key[1]}"


# --- 1. registrations -----------------------------------------------------------------------

# Every transfer row: the acknowledged ids are compared with these, and any row the wallet
# never sent is as much a fault as one it sent that is missing.
TRANSFER_IDS = text("SELECT id, provider, tx_id FROM transfers")


def judge_registrations(rows: Iterable[tuple[int, str, str]], planned: Iterable[Planned],
                        acknowledged: Mapping[Key, Acknowledged],
                        refused: Mapping[Key, Mapping[str, Any]]) -> list[Violation]:
    found: list[Violation] = []
    stored = {(provider, tx_id): transfer_id for transfer_id, provider, tx_id in rows}
    sent = {item.key for item in planned}

    def add(key: Key, detail: str) -> None:
        found.append(Violation(REGISTRATIONS, _name(key), detail))

    for key in sorted(sent):
        if key in refused:
            add(key, f"refused: {dict(refused[key])}")
        elif key not in acknowledged:
            add(key, "never acknowledged")
    for key, ack in sorted(acknowledged.items()):
        if key not in stored:
            add(key, f"acknowledged as id {ack.transfer_id} but not in Postgres")
        elif stored[key] != ack.transfer_id:
            add(key, f"acknowledged as id {ack.transfer_id}, stored as id {stored[key]}")
    for key in sorted(set(stored) - sent):
        add(key, "in Postgres but never sent")
    if len(acknowledged) != len(stored):
        found.append(Violation(REGISTRATIONS, "drill", f"count in {len(acknowledged)} "
                                                      f"!= count out {len(stored)}"))
    return found


# --- 2. final states ------------------------------------------------------------------------

# The state, who resolved it, and the provider answer of the last applied check: a transfer
# resolved against what the provider last told us is the worst thing this service could do.
STATES_AND_LAST_ANSWER = text(
    """
    SELECT t.provider, t.tx_id, t.state, t.resolved_by,
           (SELECT c.outcome FROM checks c
            WHERE c.transfer_id = t.id AND c.applied
            ORDER BY c.id DESC LIMIT 1) AS last_outcome
    FROM transfers t
    """
)


def judge_final_states(rows: Iterable[tuple[str, str, str, str | None, str | None]],
                       planned: Iterable[Planned]) -> list[Violation]:
    expected = {item.key: item.expected.value for item in planned}
    found: list[Violation] = []
    for provider, tx_id, state, resolved_by, last_outcome in rows:
        key = (provider, tx_id)
        want = expected.get(key)
        if want is None:
            continue  # not the drill's: reported under registrations
        if state != want:
            found.append(Violation(FINAL_STATES, _name(key), f"{state}, script makes {want} "
                                   f"true (last answer {last_outcome})"))
        elif state in FINAL and last_outcome not in RESOLVING_OUTCOMES[state]:
            found.append(Violation(FINAL_STATES, _name(key),
                                   f"{state} but the last applied answer was {last_outcome}"))
        elif state in FINAL and resolved_by != "engine":
            found.append(Violation(FINAL_STATES, _name(key), f"resolved by {resolved_by}"))
    return found


# --- 3. ledger ------------------------------------------------------------------------------

# Every transfer with each of its postings (none: one row of NULLs) and the postings' account
# codes, so both the kinds and where the money went are compared with the rules.
POSTINGS = text(
    """
    SELECT t.provider, t.tx_id, t.direction, t.state, t.amount, t.currency, t.player_id,
           e.kind, e.amount AS entry_amount, e.currency AS entry_currency,
           src.code AS from_code, dst.code AS to_code
    FROM transfers t
    LEFT JOIN ledger_entries e ON e.transfer_id = t.id
    LEFT JOIN ledger_accounts src ON src.id = e.from_account_id
    LEFT JOIN ledger_accounts dst ON dst.id = e.to_account_id
    """
)

# What every account holds: all that came in minus all that went out; per currency the sum of
# balances is zero exactly when each posting took from one account what it gave another.
CURRENCY_TOTALS = text(
    """
    SELECT currency, SUM(amount) FROM (
        SELECT currency, amount FROM ledger_entries
        UNION ALL
        SELECT currency, -amount FROM ledger_entries
    ) moves
    GROUP BY currency
    """
)
# The same through the accounts each entry names, which would show an entry booked against an
# account of another currency or one that does not exist.
ACCOUNT_TOTALS = text(
    """
    SELECT a.currency, COALESCE(SUM(m.amount), 0) FROM ledger_accounts a
    LEFT JOIN (
        SELECT to_account_id AS account_id, amount FROM ledger_entries
        UNION ALL
        SELECT from_account_id, -amount FROM ledger_entries
    ) m ON m.account_id = a.id
    GROUP BY a.currency
    """
)


def expected_postings(direction: str, state: str, player: str, provider: str
                      ) -> list[tuple[str, str, str]]:
    """(kind, from account, to account) per the README's posting table, sorted."""
    player_acct, transit, settled = f"player:{player}", f"transit:{provider}", \
        f"settled:{provider}"
    postings: list[tuple[str, str, str]] = []
    if direction == "deposit":
        postings.append(("hold", player_acct, transit))
        if state == "succeeded":
            postings.append(("settle", transit, settled))
        elif state == "failed":
            postings.append(("refund", transit, player_acct))
    elif state == "succeeded":
        postings.append(("payout", settled, player_acct))
    return sorted(postings)


def judge_ledger(posting_rows: Iterable[tuple[Any, ...]],
                 currency_totals: Iterable[tuple[str, Decimal]]) -> list[Violation]:
    found = [Violation(LEDGER, currency, f"balances sum to {total}, not 0")
             for currency, total in currency_totals if total != 0]
    transfers: dict[Key, tuple[str, str, Decimal, str, str]] = {}
    postings: dict[Key, list[tuple[str, str, str]]] = defaultdict(list)
    for (provider, tx_id, direction, state, amount, currency, player, kind, entry_amount,
         entry_currency, from_code, to_code) in posting_rows:
        key = (provider, tx_id)
        transfers[key] = (direction, state, amount, currency, player)
        if kind is None:
            continue
        postings[key].append((kind, from_code, to_code))
        if entry_amount != amount or entry_currency != currency:
            found.append(Violation(LEDGER, _name(key), f"{kind} of {entry_amount} "
                                   f"{entry_currency} for a transfer of {amount} {currency}"))
    for key, (direction, state, _amount, _currency, player) in sorted(transfers.items()):
        want = expected_postings(direction, state, player, key[0])
        have = sorted(postings.get(key, []))
        if have != want:
            found.append(Violation(LEDGER, _name(key), f"{direction} {state}: postings "
                                   f"{_kinds(have)}, rules call for {_kinds(want)}"))
    return found


def _kinds(postings: list[tuple[str, str, str]]) -> str:
    return "[" + ", ".join(f"{k} {a}->{b}" for k, a, b in postings) + "]"


# --- 4. outbox ------------------------------------------------------------------------------

# Each transfer with each of its events and whether the relay got it onto the stream (the
# stream itself went with Redis; published_at is set only after Redis accepted the event).
EVENTS = text(
    """
    SELECT t.provider, t.tx_id, t.state, o.type, o.published_at IS NOT NULL AS published
    FROM transfers t
    LEFT JOIN outbox_events o ON o.transfer_id = t.id
    """
)


def judge_outbox(rows: Iterable[tuple[str, str, str, str | None, bool | None]]
                 ) -> list[Violation]:
    states: dict[Key, str] = {}
    types: dict[Key, list[str]] = defaultdict(list)
    found: list[Violation] = []
    for provider, tx_id, state, event_type, published in rows:
        key = (provider, tx_id)
        states[key] = state
        if event_type is None:
            continue
        types[key].append(event_type)
        if not published:
            found.append(Violation(OUTBOX, _name(key), f"{event_type} never published"))
    for key, state in sorted(states.items()):
        resolutions = sum(1 for t in types[key] if t in RESOLUTION_EVENTS)
        want = 1 if state in FINAL else 0
        if resolutions != want:
            found.append(Violation(OUTBOX, _name(key), f"{state} with {resolutions} "
                                   f"resolution events, not {want}"))
        if state == "needs_review" and "transfer.needs_review" not in types[key]:
            found.append(Violation(OUTBOX, _name(key), "needs_review without its event"))
    return found


# --- 5. checks never overlap ----------------------------------------------------------------

# When each check's provider call began and when its answer was recorded. A row written before
# checks kept `started_at` falls back to the recorded time less the call's latency, which is
# never earlier than the true start, so it cannot invent an overlap.
SPANS = text(
    """
    SELECT t.provider, t.tx_id, c.id,
           COALESCE(c.started_at, c.checked_at - c.latency_ms * interval '1 millisecond'),
           c.checked_at
    FROM checks c JOIN transfers t ON t.id = c.transfer_id
    """
)


def judge_overlaps(spans: Iterable[tuple[str, str, int, datetime | None, datetime]],
                   tolerance: timedelta = timedelta(0)) -> list[Violation]:
    by_transfer: dict[Key, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for provider, tx_id, check_id, began, ended in spans:
        by_transfer[(provider, tx_id)].append((began or ended, ended, check_id))
    found: list[Violation] = []
    for key, checks in sorted(by_transfer.items()):
        checks.sort()
        latest_end: tuple[datetime, int] | None = None
        for began, ended, check_id in checks:
            if latest_end is not None and began + tolerance < latest_end[0]:
                found.append(Violation(OVERLAP, _name(key), f"check {check_id} began "
                                       f"{(latest_end[0] - began).total_seconds():.3f} s before "
                                       f"check {latest_end[1]} ended"))
            if latest_end is None or ended > latest_end[0]:
                latest_end = (ended, check_id)
    return found


# --- 6. settled -----------------------------------------------------------------------------

# What is still moving: open transfers and events the relay has not published.
OPEN_WORK = text(
    """
    SELECT (SELECT count(*) FROM transfers WHERE state IN ('pending', 'in_flight')),
           (SELECT count(*) FROM outbox_events WHERE published_at IS NULL)
    """
)


def open_work(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        transfers, events = connection.execute(OPEN_WORK).one()
    return int(transfers), int(events)


def judge_settled(open_transfers: int, unpublished: int) -> list[Violation]:
    if open_transfers or unpublished:
        return [Violation(SETTLED, "drill", f"did not settle: {open_transfers} transfers "
                                            f"open, {unpublished} events unpublished")]
    return []


# --- all of them ----------------------------------------------------------------------------

def verify(engine: Engine, planned: list[Planned], acknowledged: Mapping[Key, Acknowledged],
           refused: Mapping[Key, Mapping[str, Any]]) -> dict[str, list[Violation]]:
    """Every invariant's violations (an empty list where it holds)."""
    with engine.connect() as connection:
        return {
            SETTLED: judge_settled(*connection.execute(OPEN_WORK).one()),
            REGISTRATIONS: judge_registrations(_rows(connection, TRANSFER_IDS), planned,
                                               acknowledged, refused),
            FINAL_STATES: judge_final_states(_rows(connection, STATES_AND_LAST_ANSWER),
                                             planned),
            LEDGER: judge_ledger(_rows(connection, POSTINGS),
                                 [*_rows(connection, CURRENCY_TOTALS),
                                  *_rows(connection, ACCOUNT_TOTALS)]),
            OUTBOX: judge_outbox(_rows(connection, EVENTS)),
            OVERLAP: judge_overlaps(_rows(connection, SPANS)),
        }


def _rows(connection: Connection, query: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(query)]
