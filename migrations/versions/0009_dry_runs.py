"""dry runs: `executions.dry_run`, and in the dashboard's (user | workflow, created_at) indexes

A dry run records the request each sending step would send instead of sending it. The flag
keeps dry runs out of the dashboard's figures: with `dry_run` after `status` in the two
indexes the counts stay index-only range scans on PostgreSQL (see 0005).

On SQLite batch mode rebuilds `executions` (the new column's default is an expression); it runs
with foreign keys off, as every migration does (migrations/env.py), so that dropping the old
table deletes no execution step.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    _upgrade()


def downgrade():
    _downgrade()


def _upgrade():
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dry_run', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_index('ix_executions_user_id_created')
        batch_op.create_index('ix_executions_user_id_created', ['user_id', 'created_at', 'id', 'status', 'dry_run'], unique=False)
        batch_op.drop_index('ix_executions_workflow_id_created')
        batch_op.create_index('ix_executions_workflow_id_created', ['workflow_id', 'created_at', 'id', 'status', 'dry_run'], unique=False)


def _downgrade():
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index('ix_executions_workflow_id_created')
        batch_op.create_index('ix_executions_workflow_id_created', ['workflow_id', 'created_at', 'id', 'status'], unique=False)
        batch_op.drop_index('ix_executions_user_id_created')
        batch_op.create_index('ix_executions_user_id_created', ['user_id', 'created_at', 'id', 'status'], unique=False)
        batch_op.drop_column('dry_run')
