"""failure handling: the notification state per workflow, and the failed runs not handled yet

`failure_notices` keeps, per workflow and channel (email, Slack), the failures not yet
notified and when the next notice may go out (the storm limit). A partial index finds failed runs whose failure handling
is not done; the runs that failed before this migration are marked handled (nothing was
configured for them).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.models.base

UNHANDLED = "status = 'failed' AND failure_handled_at IS NULL"

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('failure_notices',
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('pending', sa.Integer(), server_default='0', nullable=False),
    sa.Column('latest_execution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('first_pending_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sent_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_failure_notices_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workflow_id', 'channel', name=op.f('pk_failure_notices'))
    )
    pending = sa.text('pending > 0')
    op.create_index('ix_failure_notices_pending_due', 'failure_notices', ['due_at'], postgresql_where=pending, sqlite_where=pending)
    op.execute(
        "UPDATE executions SET failure_handled_at = COALESCE(finished_at, updated_at) "
        f"WHERE {UNHANDLED}"
    )
    where = sa.text(UNHANDLED)
    op.create_index('ix_executions_failed_unhandled', 'executions', ['id'], postgresql_where=where, sqlite_where=where)


def downgrade():
    op.drop_index('ix_executions_failed_unhandled', table_name='executions')
    op.drop_index('ix_failure_notices_pending_due', table_name='failure_notices')
    op.drop_table('failure_notices')
