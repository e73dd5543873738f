"""executions by age: an index on (created_at, id) for retention

Retention deletes the oldest executions in small batches, each found through this index
(bounded work per batch, however many rows the table holds). On PostgreSQL it is built
CONCURRENTLY: an upgrade on a large table does not block the inserts of webhooks meanwhile.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 02:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.create_index(
                'ix_executions_created_at', 'executions', ['created_at', 'id'],
                unique=False, postgresql_concurrently=True, if_not_exists=True,
            )
    else:
        op.create_index('ix_executions_created_at', 'executions', ['created_at', 'id'], unique=False)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.drop_index(
                'ix_executions_created_at', table_name='executions',
                postgresql_concurrently=True, if_exists=True,
            )
    else:
        op.drop_index('ix_executions_created_at', table_name='executions')
