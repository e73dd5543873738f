"""final executions by age: a partial index on (created_at, id) for retention

Retention deletes the oldest final executions in small batches, each found through this index
(bounded work per batch, however many rows the table holds). Partial (final statuses only), so
that the dashboard's lists, which never filter on it, are not planned on it. On PostgreSQL it
is built CONCURRENTLY: an upgrade on a large table does not block the inserts of webhooks.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 02:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

FINAL = "status IN ('completed', 'failed', 'cancelled')"


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.create_index(
                'ix_executions_final_created', 'executions', ['created_at', 'id'],
                unique=False, postgresql_concurrently=True, if_not_exists=True,
                postgresql_where=sa.text(FINAL),
            )
    else:
        op.create_index(
            'ix_executions_final_created', 'executions', ['created_at', 'id'],
            unique=False, sqlite_where=sa.text(FINAL),
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.drop_index(
                'ix_executions_final_created', table_name='executions',
                postgresql_concurrently=True, if_exists=True,
            )
    else:
        op.drop_index('ix_executions_final_created', table_name='executions')
