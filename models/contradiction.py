from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column


class Contradiction(Base):
    """A caller's clear answer that disagrees with the final state a transfer already has.

    Terminal transfers never change (a trigger refuses it), so the disagreement is kept beside
    the transfer, for an admin to look into; it never changes the state by itself. One row per
    transfer and reported outcome: a caller that repeats itself is not a second contradiction.
    """

    __tablename__ = "contradictions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    final_state: Mapped[str] = mapped_column(String(16))
    reported_state: Mapped[str] = mapped_column(String(16))
    reported_by: Mapped[str] = mapped_column(String(160))
    reported_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        UniqueConstraint("transfer_id", "reported_state"),
        CheckConstraint("final_state <> reported_state", name="disagrees"),
        CheckConstraint("reported_state IN ('succeeded', 'failed')", name="reported_state"),
    )
