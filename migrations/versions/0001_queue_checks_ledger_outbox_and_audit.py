"""Queue, checks, ledger, outbox and audit.

Beside the tables, two triggers make two money rules hold in the database itself: ledger
entries are never updated or deleted, and a terminal transfer never changes again.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 03:40:01.094976
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from worker.process.downgrade_guard import refuse_dropping_rows

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_accounts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('player', 'transit', 'settled')", name=op.f('ck_ledger_accounts_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('code', 'currency', name=op.f('uq_ledger_accounts_code_currency')),
    sa.UniqueConstraint('id', 'currency', name=op.f('uq_ledger_accounts_id_currency'))
    )
    op.create_table('transfers',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('tx_id', sa.String(length=128), nullable=False),
    sa.Column('player_id', sa.String(length=128), nullable=False),
    sa.Column('player_ref', sa.String(length=256), nullable=True),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=10), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('not_found_streak', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.Uuid(), nullable=True),
    sa.Column('last_outcome', sa.String(length=16), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('registered_by', sa.String(length=128), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("(state IN ('succeeded', 'failed')) = (resolved_at IS NOT NULL)", name=op.f('ck_transfers_resolved_at')),
    sa.CheckConstraint("direction IN ('deposit', 'withdraw')", name=op.f('ck_transfers_direction')),
    sa.CheckConstraint("state IN ('in_flight', 'pending', 'needs_review', 'succeeded', 'failed')", name=op.f('ck_transfers_state')),
    sa.CheckConstraint("state NOT IN ('pending', 'in_flight') OR next_check_at IS NOT NULL", name=op.f('ck_transfers_next_check_at')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_transfers_amount_positive')),
    sa.CheckConstraint('attempts >= 0 AND not_found_streak >= 0', name=op.f('ck_transfers_counters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
    sa.UniqueConstraint('provider', 'tx_id', name=op.f('uq_transfers_provider_tx_id'))
    )
    op.create_index('ix_transfers_due', 'transfers', ['provider', 'next_check_at'], unique=False, postgresql_where=sa.text("state = 'pending'"))
    op.create_index('ix_transfers_in_flight_deadline', 'transfers', ['next_check_at'], unique=False, postgresql_where=sa.text("state = 'in_flight'"))
    op.create_index('ix_transfers_state_created', 'transfers', ['state', 'created_at'], unique=False)
    op.create_table('audit_records',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('transfer_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_audit_records_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records'))
    )
    op.create_index('ix_audit_records_transfer', 'audit_records', ['transfer_id', 'id'], unique=False)
    op.create_table('checks',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('transfer_id', sa.BigInteger(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('response_excerpt', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('provider_status', sa.String(length=64), nullable=True),
    sa.Column('provider_amount', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('provider_currency', sa.String(length=16), nullable=True),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_checks_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checks'))
    )
    op.create_index('ix_checks_transfer', 'checks', ['transfer_id', 'id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('transfer_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_account_id', sa.BigInteger(), nullable=False),
    sa.Column('to_account_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('hold', 'settle', 'refund', 'payout')", name=op.f('ck_ledger_entries_kind')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_ledger_entries_amount_positive')),
    sa.CheckConstraint('from_account_id <> to_account_id', name=op.f('ck_ledger_entries_two_accounts')),
    sa.ForeignKeyConstraint(['from_account_id', 'currency'], ['ledger_accounts.id', 'ledger_accounts.currency'], name='fk_ledger_entries_from_account'),
    sa.ForeignKeyConstraint(['to_account_id', 'currency'], ['ledger_accounts.id', 'ledger_accounts.currency'], name='fk_ledger_entries_to_account'),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_ledger_entries_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('transfer_id', 'kind', name=op.f('uq_ledger_entries_transfer_id_kind'))
    )
    op.create_index('ix_ledger_entries_from', 'ledger_entries', ['from_account_id'], unique=False)
    op.create_index('ix_ledger_entries_to', 'ledger_entries', ['to_account_id'], unique=False)
    op.create_index('uq_ledger_entries_one_resolution', 'ledger_entries', ['transfer_id'], unique=True, postgresql_where=sa.text("kind IN ('settle', 'refund', 'payout')"))
    op.create_table('outbox_events',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('transfer_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stream_entry_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_outbox_events_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_outbox_events')),
    sa.UniqueConstraint('id', name=op.f('uq_outbox_events_id'))
    )
    op.create_index('ix_outbox_transfer', 'outbox_events', ['transfer_id', 'seq'], unique=False)
    op.create_index('ix_outbox_unpublished', 'outbox_events', ['seq'], unique=False, postgresql_where=sa.text('published_at IS NULL'))
    op.create_index('uq_outbox_one_resolution', 'outbox_events', ['transfer_id'], unique=True, postgresql_where=sa.text("type IN ('transfer.resolved', 'transfer.manually_resolved')"))

    op.execute(IMMUTABLE_LEDGER)
    op.execute(FINAL_TRANSFERS)


IMMUTABLE_LEDGER = """
CREATE FUNCTION ledger_entries_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are never updated or deleted (entry %)', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_are_immutable();
"""

FINAL_TRANSFERS = """
CREATE FUNCTION terminal_transfers_are_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transfer % is % and never changes again', OLD.id, OLD.state
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER terminal_transfers_final BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW WHEN (OLD.state IN ('succeeded', 'failed'))
    EXECUTE FUNCTION terminal_transfers_are_final();
"""


def downgrade() -> None:
    refuse_dropping_rows(
        "outbox_events", "ledger_entries", "checks", "audit_records", "transfers", "ledger_accounts",
    )
    op.execute("DROP TRIGGER terminal_transfers_final ON transfers")
    op.execute("DROP FUNCTION terminal_transfers_are_final()")
    op.execute("DROP TRIGGER ledger_entries_immutable ON ledger_entries")
    op.execute("DROP FUNCTION ledger_entries_are_immutable()")
    op.drop_index('uq_outbox_one_resolution', table_name='outbox_events', postgresql_where=sa.text("type IN ('transfer.resolved', 'transfer.manually_resolved')"))
    op.drop_index('ix_outbox_unpublished', table_name='outbox_events', postgresql_where=sa.text('published_at IS NULL'))
    op.drop_index('ix_outbox_transfer', table_name='outbox_events')
    op.drop_table('outbox_events')
    op.drop_index('uq_ledger_entries_one_resolution', table_name='ledger_entries', postgresql_where=sa.text("kind IN ('settle', 'refund', 'payout')"))
    op.drop_index('ix_ledger_entries_to', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_from', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index('ix_checks_transfer', table_name='checks')
    op.drop_table('checks')
    op.drop_index('ix_audit_records_transfer', table_name='audit_records')
    op.drop_table('audit_records')
    op.drop_index('ix_transfers_state_created', table_name='transfers')
    op.drop_index('ix_transfers_in_flight_deadline', table_name='transfers', postgresql_where=sa.text("state = 'in_flight'"))
    op.drop_index('ix_transfers_due', table_name='transfers', postgresql_where=sa.text("state = 'pending'"))
    op.drop_table('transfers')
    op.drop_table('ledger_accounts')
