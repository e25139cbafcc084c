"""Double-entry postings for transfers.

Accounts per currency: `player:<player_id>` (the player's main wallet), `transit:<provider>`
(money in flight) and `settled:<provider>` (money that arrived at the provider).

    deposit registered   player  -> transit   (the operator already took the player's money)
    deposit succeeded    transit -> settled
    deposit failed       transit -> player    (refund)
    withdraw registered  nothing moves
    withdraw succeeded   settled -> player
    withdraw failed      nothing moves

Each posting kind is unique per transfer in the database, and so is the one resolution posting.

Settled by a person at the provider's amount P (ours A; an amount mismatch), `suspense:<provider>`
takes the difference, so the books stay balanced and the difference stays in sight:

    deposit, P < A       transit -> settled P, transit -> suspense A-P  (`adjust`)
    deposit, P > A       transit -> settled P, suspense -> transit P-A  (`adjust`)
    withdraw, any P      settled -> player P   (nothing was held at A, so no difference is)
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Account, LedgerEntry, Transfer
from worker.domain.types import Direction, State

_ENSURE_ACCOUNT = text(
    """
    INSERT INTO ledger_accounts (code, kind, currency) VALUES (:code, :kind, :currency)
    ON CONFLICT (code, currency) DO NOTHING
    """
)


def account_id(session: Session, kind: str, owner: str, currency: str) -> int:
    code = f"{kind}:{owner}"
    session.execute(_ENSURE_ACCOUNT, {"code": code, "kind": kind, "currency": currency})
    return session.execute(
        select(Account.id).where(Account.code == code, Account.currency == currency)
    ).scalar_one()


def _post(session: Session, transfer: Transfer, kind: str, source: tuple[str, str],
          target: tuple[str, str], amount: Decimal | None = None) -> LedgerEntry:
    entry = LedgerEntry(
        transfer_id=transfer.id,
        kind=kind,
        from_account_id=account_id(session, *source, transfer.currency),
        to_account_id=account_id(session, *target, transfer.currency),
        amount=transfer.amount if amount is None else amount,
        currency=transfer.currency,
    )
    session.add(entry)
    return entry


def post_registration(session: Session, transfer: Transfer) -> list[LedgerEntry]:
    if transfer.direction == Direction.DEPOSIT:
        return [_post(session, transfer, "hold", ("player", transfer.player_id),
                      ("transit", transfer.provider))]
    return []


def post_resolution(session: Session, transfer: Transfer, state: State,
                    provider_amount: Decimal | None = None) -> list[LedgerEntry]:
    if provider_amount is not None:
        return [_post(session, transfer, kind, source, target, amount)
                for kind, source, target, amount in provider_amount_moves(
                    Direction(transfer.direction), transfer.provider, transfer.player_id,
                    transfer.amount, provider_amount)]
    move = resolution_move(Direction(transfer.direction), transfer.provider, transfer.player_id,
                           state)
    if move is None:
        return []
    kind, source, target = move
    return [_post(session, transfer, kind, source, target)]


Owner = tuple[str, str]  # (account kind, owner): ("player", "p-1"), ("transit", "lucko")...


def resolution_move(direction: Direction, provider: str, player_id: str,
                    state: State) -> tuple[str, Owner, Owner] | None:
    """The one posting that settles a transfer (kind, from, to), or None when nothing moves.

    The rule of the table above, shared by the single-transfer path and the batched engine.
    """
    player = ("player", player_id)
    transit = ("transit", provider)
    settled = ("settled", provider)
    if direction == Direction.DEPOSIT:
        if state is State.SUCCEEDED:
            return "settle", transit, settled
        return "refund", transit, player
    if state is State.SUCCEEDED:
        return "payout", settled, player
    return None


def provider_amount_moves(direction: Direction, provider: str, player_id: str, ours: Decimal,
                          theirs: Decimal) -> list[tuple[str, Owner, Owner, Decimal]]:
    """The postings (kind, from, to, amount) that settle a transfer as succeeded at the amount
    the provider recorded (`theirs`) instead of ours: the table in this module's docstring.

    The resolution posting moves what the provider recorded; on a deposit, whose hold moved
    ours into transit, an `adjust` posting squares transit with the provider's suspense account.
    """
    if ours <= 0 or theirs <= 0 or ours == theirs:
        raise ValueError(f"two different positive amounts are needed, got {ours} and {theirs}")
    transit = ("transit", provider)
    settled = ("settled", provider)
    suspense = ("suspense", provider)
    if direction == Direction.WITHDRAW:
        return [("payout", settled, ("player", player_id), theirs)]
    if theirs < ours:
        return [("settle", transit, settled, theirs), ("adjust", transit, suspense, ours - theirs)]
    return [("adjust", suspense, transit, theirs - ours), ("settle", transit, settled, theirs)]


# Each entry is a move out of one account and into another; an account's balance is the sum
# of its moves. Two plain scans and one aggregation, rather than a join on "from or to" that
# would visit the entries once per account.
BALANCES = text(
    """
    WITH moves AS (
        SELECT to_account_id AS account_id, amount FROM ledger_entries
        UNION ALL
        SELECT from_account_id, -amount FROM ledger_entries
    ),
    totals AS (
        SELECT account_id, SUM(amount) AS balance FROM moves GROUP BY account_id
    )
    SELECT a.code, a.kind, a.currency, COALESCE(t.balance, 0) AS balance
    FROM ledger_accounts a
    LEFT JOIN totals t ON t.account_id = a.id
    ORDER BY a.currency, a.kind, a.code
    """
)


def balances(session: Session) -> list[tuple[str, str, str, Decimal]]:
    """(code, kind, currency, balance) for every account."""
    return [
        (row.code, row.kind, row.currency, row.balance)
        for row in session.execute(BALANCES)
    ]


def currency_totals(session: Session) -> dict[str, Decimal]:
    """Sum of all balances per currency: zero whenever the books are right."""
    totals: dict[str, Decimal] = {}
    for _code, _kind, currency, balance in balances(session):
        totals[currency] = totals.get(currency, Decimal(0)) + balance
    return totals
