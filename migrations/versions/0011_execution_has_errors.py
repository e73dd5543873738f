"""executions.has_errors: a run that completed with a failed step says so

Set by the statement that ends a run when one of its steps failed (a step that continues on
error, or the step that failed the run). Runs already stored get it from their steps. Two
partial indexes (only the runs with errors) answer the "Completed with errors" filter.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_errors', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE executions SET has_errors = TRUE WHERE status IN ('completed', 'failed', 'cancelled') "
        "AND EXISTS (SELECT 1 FROM execution_steps s "
        "WHERE s.execution_id = executions.id AND s.status = 'failed')"
    )
    for name, column in (
        ('ix_executions_user_id_with_errors', 'user_id'),
        ('ix_executions_workflow_id_with_errors', 'workflow_id'),
    ):
        op.create_index(
            name,
            'executions',
            [column, 'created_at', 'id'],
            unique=False,
            postgresql_where=sa.text('has_errors'),
            sqlite_where=sa.text('has_errors = 1'),
        )


def downgrade():
    op.drop_index('ix_executions_workflow_id_with_errors', table_name='executions')
    op.drop_index('ix_executions_user_id_with_errors', table_name='executions')
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_column('has_errors')
