from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column

PROPOSAL_STATUSES = ("open", "approved", "rejected", "expired")
# An item is open while its proposal waits; then applied or refused (approved), or it follows
# its proposal into rejected or expired.
ITEM_STATES = ("open", "applied", "refused", "rejected", "expired")


class Proposal(Base):
    """A manual resolution waiting for a second operator (four-eyes).

    Nothing moves until an operator other than the proposer approves it; the database holds
    that rule too (`ck_proposals_four_eyes`), and a decided proposal never changes again (a
    trigger, like the one on terminal transfers).
    """

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    outcome: Mapped[str] = mapped_column(String(16))
    at_provider_amount: Mapped[bool] = mapped_column(server_default=text("false"))
    bulk: Mapped[bool] = mapped_column(server_default=text("false"))
    proposed_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(f"status IN {PROPOSAL_STATUSES}", name="status"),
        CheckConstraint("outcome IN ('succeeded', 'failed')", name="outcome"),
        CheckConstraint("NOT at_provider_amount OR outcome = 'succeeded'",
                        name="provider_amount_succeeds"),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        CheckConstraint("(status = 'open') = (decided_at IS NULL)", name="decided_at"),
        CheckConstraint("status NOT IN ('approved', 'rejected') OR decided_by IS NOT NULL",
                        name="decided_by"),
        # The second pair of eyes: whoever approves is not whoever proposed.
        CheckConstraint("status <> 'approved' OR lower(decided_by) <> lower(proposed_by)",
                        name="four_eyes"),
        Index("ix_proposals_open", "expires_at", postgresql_where=text("status = 'open'")),
    )


class ProposalItem(Base):
    """One transfer of a proposal, with the amounts the proposer saw."""

    __tablename__ = "proposal_items"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    state: Mapped[str] = mapped_column(String(16), server_default="open")
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(10))
    # The provider's amount the transfer settles at; None unless settled at the provider's amount.
    provider_amount: Mapped[Decimal | None]
    # Why an approved item was not applied (already final, in flight...).
    note: Mapped[str | None] = mapped_column(Text)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_records.id"))

    __table_args__ = (
        CheckConstraint(f"state IN {ITEM_STATES}", name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("provider_amount IS NULL OR (provider_amount > 0 "
                        "AND provider_amount <> amount)", name="provider_amount"),
        # At most one open proposal per transfer.
        Index("uq_proposal_items_one_open", "transfer_id", unique=True,
              postgresql_where=text("state = 'open'")),
        Index("ix_proposal_items_proposal", "proposal_id", "id"),
        Index("ix_proposal_items_transfer", "transfer_id", "id"),
    )
