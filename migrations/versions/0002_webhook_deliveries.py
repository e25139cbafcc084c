"""Webhook deliveries, their attempts, and the queue that feeds the fan-out.

A trigger on `outbox_events` adds each new event to `webhook_fanout_queue` in the transaction
that wrote the event, so the fan-out sees every event exactly when it commits, never earlier and
never skipped. Events written before this migration are not fanned out (a subscriber receives
what happens after it was configured; older events can be redelivered by hand).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from worker.process.downgrade_guard import refuse_dropping_rows

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('subscriber', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.Uuid(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_http_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'delivered') = (delivered_at IS NOT NULL)", name=op.f('ck_webhook_deliveries_delivered_at')),
    sa.CheckConstraint("(status = 'pending') = (next_attempt_at IS NOT NULL)", name=op.f('ck_webhook_deliveries_next_attempt_at')),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f('ck_webhook_deliveries_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_webhook_deliveries_attempts')),
    sa.ForeignKeyConstraint(['event_id'], ['outbox_events.id'], name=op.f('fk_webhook_deliveries_event_id_outbox_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('subscriber', 'event_id', name=op.f('uq_webhook_deliveries_subscriber_event_id'))
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['subscriber', 'next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_webhook_deliveries_event', 'webhook_deliveries', ['event_id'], unique=False)
    op.create_table('webhook_fanout_queue',
    sa.Column('event_seq', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['event_seq'], ['outbox_events.seq'], name=op.f('fk_webhook_fanout_queue_event_seq_outbox_events')),
    sa.PrimaryKeyConstraint('event_seq', name=op.f('pk_webhook_fanout_queue'))
    )
    op.create_table('webhook_attempts',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('delivery_id', sa.BigInteger(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.CheckConstraint("result IN ('delivered', 'retrying', 'failed')", name=op.f('ck_webhook_attempts_result')),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    op.create_index('ix_webhook_attempts_delivery', 'webhook_attempts', ['delivery_id', 'id'], unique=False)

    op.execute(QUEUE_FOR_FANOUT)


QUEUE_FOR_FANOUT = """
CREATE FUNCTION queue_event_for_webhook_fanout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_fanout_queue (event_seq) VALUES (NEW.seq);
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_events_webhook_fanout AFTER INSERT ON outbox_events
    FOR EACH ROW EXECUTE FUNCTION queue_event_for_webhook_fanout();
"""


def downgrade() -> None:
    refuse_dropping_rows("webhook_attempts", "webhook_fanout_queue", "webhook_deliveries")
    op.execute("DROP TRIGGER outbox_events_webhook_fanout ON outbox_events")
    op.execute("DROP FUNCTION queue_event_for_webhook_fanout()")
    op.drop_index('ix_webhook_attempts_delivery', table_name='webhook_attempts')
    op.drop_table('webhook_attempts')
    op.drop_table('webhook_fanout_queue')
    op.drop_index('ix_webhook_deliveries_event', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_due', table_name='webhook_deliveries', postgresql_where=sa.text("status = 'pending'"))
    op.drop_table('webhook_deliveries')
