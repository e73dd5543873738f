"""waits, child runs, time limits and workflow settings

A waiting step (wait for a call, an approval, a child run) keeps what resumed it in
`execution_steps.resume_data` and its deadline in `next_retry_at`, found by a partial index on
waiting steps. A child run names its parent's execution and step (unique: a retried start
finds the child it made) and its depth. A run's time limit is `executions.deadline_at`; a
failed run's "on failure" handling is stamped `failure_handled_at`. `workflows.settings` holds
the workflow's time zone, time limits and failure handling.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import app.models.base

FINAL = "status IN ('completed', 'failed', 'cancelled')"
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workflows', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('settings', JSON, server_default=sa.text("'{}'"), nullable=False))
    with op.batch_alter_table('executions', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('parent_execution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('parent_position', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('parent_frame', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('depth', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('deadline_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failure_handled_at', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_executions_parent_execution_id_executions'), 'executions',
            ['parent_execution_id'], ['id'], ondelete='SET NULL',
        )
        batch_op.create_index('uq_executions_parent_step', ['parent_execution_id', 'parent_position', 'parent_frame'], unique=True)
        where = sa.text(f"deadline_at IS NOT NULL AND NOT ({FINAL})")
        batch_op.create_index('ix_executions_live_deadline', ['deadline_at'], postgresql_where=where, sqlite_where=where)
    with op.batch_alter_table('execution_steps', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('resume_data', JSON, nullable=True))
        waiting = sa.text("status = 'waiting'")
        batch_op.create_index('ix_execution_steps_waiting_until', ['next_retry_at'], postgresql_where=waiting, sqlite_where=waiting)


def downgrade():
    with op.batch_alter_table('execution_steps', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_index('ix_execution_steps_waiting_until')
        batch_op.drop_column('resume_data')
    with op.batch_alter_table('executions', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_index('ix_executions_live_deadline')
        batch_op.drop_index('uq_executions_parent_step')
        batch_op.drop_constraint(batch_op.f('fk_executions_parent_execution_id_executions'), type_='foreignkey')
        batch_op.drop_column('failure_handled_at')
        batch_op.drop_column('deadline_at')
        batch_op.drop_column('depth')
        batch_op.drop_column('parent_frame')
        batch_op.drop_column('parent_position')
        batch_op.drop_column('parent_execution_id')
    with op.batch_alter_table('workflows', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_column('settings')
