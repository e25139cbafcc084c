from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column

ENTRY_KINDS = ("hold", "settle", "refund", "payout", "adjust")
ACCOUNT_KINDS = ("player", "transit", "settled", "suspense")


class Account(Base):
    """A ledger account in one currency: a player's main wallet, a provider's transit, settled
    or suspense (differences a person settled at the provider's amount)."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        UniqueConstraint("code", "currency"),
        # The target of the entries' (account, currency) keys: an entry cannot cross currencies.
        UniqueConstraint("id", "currency"),
        CheckConstraint(f"kind IN {ACCOUNT_KINDS}", name="kind"),
    )


class LedgerEntry(Base):
    """One posting: `amount` moves from one account to another. Never updated, never deleted.

    An account's balance is what came in minus what went out, so the balances of a currency
    always sum to zero.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    from_account_id: Mapped[int] = mapped_column(BigInteger)
    to_account_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        ForeignKeyConstraint(
            ["from_account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_entries_from_account",
        ),
        ForeignKeyConstraint(
            ["to_account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_entries_to_account",
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_account_id <> to_account_id", name="two_accounts"),
        CheckConstraint(f"kind IN {ENTRY_KINDS}", name="kind"),
        # A second posting of the same kind for one transfer is impossible...
        UniqueConstraint("transfer_id", "kind"),
        # ...and so is a second resolution posting of any kind.
        Index(
            "uq_ledger_entries_one_resolution",
            "transfer_id",
            unique=True,
            postgresql_where=text("kind IN ('settle', 'refund', 'payout')"),
        ),
        Index("ix_ledger_entries_from", "from_account_id"),
        Index("ix_ledger_entries_to", "to_account_id"),
    )
