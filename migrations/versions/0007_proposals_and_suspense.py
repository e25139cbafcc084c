"""Four-eyes proposals, and a per-provider suspense account for settling at the provider's amount.

- `proposals` and `proposal_items`: a manual resolution that waits for a second operator. The
  database holds the rules that matter even if code slipped: at most one open proposal per
  transfer (a partial unique index), the approver is not the proposer (a check), and a decided
  proposal never changes again (a trigger).
- Ledger: the account kind `suspense` and the entry kind `adjust`. An `adjust` entry moves the
  difference between our amount and the provider's, and a trigger holds that it always has a
  suspense account on exactly one side, so the difference can only ever land there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from worker.process.downgrade_guard import refuse_dropping_rows

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ACCOUNT_KINDS = "kind IN ('player', 'transit', 'settled')"
OLD_ENTRY_KINDS = "kind IN ('hold', 'settle', 'refund', 'payout')"
# Each old check is swapped for the widened one in one statement (never a moment without a
# check), NOT VALID: no scan, so its ACCESS EXCLUSIVE lock lasts an instant, and new rows are
# checked at once.
WIDEN_ACCOUNT_KINDS = ("ALTER TABLE ledger_accounts DROP CONSTRAINT ck_ledger_accounts_kind, "
                       "ADD CONSTRAINT ck_ledger_accounts_kind "
                       "CHECK (kind IN ('player', 'transit', 'settled', 'suspense')) NOT VALID")
WIDEN_ENTRY_KINDS = ("ALTER TABLE ledger_entries DROP CONSTRAINT ck_ledger_entries_kind, "
                     "ADD CONSTRAINT ck_ledger_entries_kind "
                     "CHECK (kind IN ('hold', 'settle', 'refund', 'payout', 'adjust')) NOT VALID")


def upgrade() -> None:
    # Outside the migration's transaction, each statement committed on its own: validating
    # scans the existing rows under a SHARE UPDATE EXCLUSIVE lock only, so resolutions go on
    # writing the ledger meanwhile (inside the transaction, the swap's ACCESS EXCLUSIVE lock
    # would be held through the scan). Every row passes, as the kinds only grow. First, so a run
    # interrupted anywhere can be started again: each step here can run twice.
    with op.get_context().autocommit_block():
        op.execute(WIDEN_ACCOUNT_KINDS)
        op.execute("ALTER TABLE ledger_accounts VALIDATE CONSTRAINT ck_ledger_accounts_kind")
        op.execute(WIDEN_ENTRY_KINDS)
        op.execute("ALTER TABLE ledger_entries VALIDATE CONSTRAINT ck_ledger_entries_kind")
    op.execute(ADJUSTMENTS_GO_TO_SUSPENSE)

    op.create_table(
        "proposals",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("at_provider_amount", sa.Boolean(), server_default=sa.text("false"),
                  nullable=False),
        sa.Column("bulk", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'approved', 'rejected', 'expired')",
                           name=op.f("ck_proposals_status")),
        sa.CheckConstraint("outcome IN ('succeeded', 'failed')",
                           name=op.f("ck_proposals_outcome")),
        sa.CheckConstraint("NOT at_provider_amount OR outcome = 'succeeded'",
                           name=op.f("ck_proposals_provider_amount_succeeds")),
        sa.CheckConstraint("expires_at > created_at",
                           name=op.f("ck_proposals_expires_after_created")),
        sa.CheckConstraint("(status = 'open') = (decided_at IS NULL)",
                           name=op.f("ck_proposals_decided_at")),
        sa.CheckConstraint("status NOT IN ('approved', 'rejected') OR decided_by IS NOT NULL",
                           name=op.f("ck_proposals_decided_by")),
        sa.CheckConstraint("status <> 'approved' OR lower(decided_by) <> lower(proposed_by)",
                           name=op.f("ck_proposals_four_eyes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    # The indexes below are plain CREATE INDEX, inside the transaction, on purpose: proposals and
    # proposal_items are created empty just above, so each build is instant and locks nothing
    # that anyone else uses (CONCURRENTLY is only for tables that already hold rows).
    op.create_index("ix_proposals_open", "proposals", ["expires_at"], unique=False,
                    postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "proposal_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("proposal_id", sa.BigInteger(), nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("provider_amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("audit_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'applied', 'refused', 'rejected', 'expired')",
                           name=op.f("ck_proposal_items_state")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_proposal_items_amount_positive")),
        sa.CheckConstraint("provider_amount IS NULL OR (provider_amount > 0 "
                           "AND provider_amount <> amount)",
                           name=op.f("ck_proposal_items_provider_amount")),
        sa.ForeignKeyConstraint(["audit_id"], ["audit_records.id"],
                                name=op.f("fk_proposal_items_audit_id_audit_records")),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"],
                                name=op.f("fk_proposal_items_proposal_id_proposals")),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfers.id"],
                                name=op.f("fk_proposal_items_transfer_id_transfers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_items")),
    )
    op.create_index("uq_proposal_items_one_open", "proposal_items", ["transfer_id"],
                    unique=True, postgresql_where=sa.text("state = 'open'"))
    op.create_index("ix_proposal_items_proposal", "proposal_items", ["proposal_id", "id"],
                    unique=False)
    op.create_index("ix_proposal_items_transfer", "proposal_items", ["transfer_id", "id"],
                    unique=False)
    op.execute(DECIDED_PROPOSALS)


# Only `adjust` rows pay for the lookup: the engine's own postings pass the WHEN untouched.
ADJUSTMENTS_GO_TO_SUSPENSE = """
CREATE FUNCTION ledger_adjustments_touch_suspense() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    suspense_sides integer;
BEGIN
    SELECT count(*) INTO suspense_sides FROM ledger_accounts
        WHERE id IN (NEW.from_account_id, NEW.to_account_id) AND kind = 'suspense';
    IF suspense_sides <> 1 THEN
        RAISE EXCEPTION 'an adjust entry (transfer %) has a suspense account on one side only',
            NEW.transfer_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_adjustments_suspense BEFORE INSERT ON ledger_entries
    FOR EACH ROW WHEN (NEW.kind = 'adjust')
    EXECUTE FUNCTION ledger_adjustments_touch_suspense();
"""

# Items of a decided proposal still move (open -> applied or refused) as it is carried out;
# the proposal row itself is final once decided.
DECIDED_PROPOSALS = """
CREATE FUNCTION decided_proposals_are_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'proposal % is % and never changes again', OLD.id, OLD.status
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER decided_proposals_final BEFORE UPDATE OR DELETE ON proposals
    FOR EACH ROW WHEN (OLD.status <> 'open')
    EXECUTE FUNCTION decided_proposals_are_final();
"""


def downgrade() -> None:
    refuse_dropping_rows("proposal_items", "proposals")
    op.execute("DROP TRIGGER decided_proposals_final ON proposals")
    op.execute("DROP FUNCTION decided_proposals_are_final()")
    op.drop_index("ix_proposal_items_transfer", table_name="proposal_items")
    op.drop_index("ix_proposal_items_proposal", table_name="proposal_items")
    op.drop_index("uq_proposal_items_one_open", table_name="proposal_items",
                  postgresql_where=sa.text("state = 'open'"))
    op.drop_table("proposal_items")
    op.drop_index("ix_proposals_open", table_name="proposals",
                  postgresql_where=sa.text("status = 'open'"))
    op.drop_table("proposals")
    op.execute("DROP TRIGGER ledger_adjustments_suspense ON ledger_entries")
    op.execute("DROP FUNCTION ledger_adjustments_touch_suspense()")
    # Suspense postings cannot be undone (entries are immutable): refuse rather than lose them.
    op.execute(REFUSE_IF_SUSPENSE)
    op.drop_constraint(op.f("ck_ledger_entries_kind"), "ledger_entries", type_="check")
    op.create_check_constraint(op.f("ck_ledger_entries_kind"), "ledger_entries", OLD_ENTRY_KINDS)
    op.drop_constraint(op.f("ck_ledger_accounts_kind"), "ledger_accounts", type_="check")
    op.create_check_constraint(op.f("ck_ledger_accounts_kind"), "ledger_accounts",
                                OLD_ACCOUNT_KINDS)


REFUSE_IF_SUSPENSE = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_accounts WHERE kind = 'suspense') THEN
        RAISE EXCEPTION 'refusing to downgrade: suspense accounts exist; the ledger would no '
                        'longer accept its own entries';
    END IF;
END $$;
"""
