"""executions.has_errors: a run that completed with a failed step says so

Set by the statement that ends a run when one of its steps failed (a step that continues on
error, or the step that failed the run). Runs already stored get it from their steps.

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
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_errors', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE executions SET has_errors = TRUE WHERE status IN ('completed', 'failed') AND EXISTS "
        "(SELECT 1 FROM execution_steps s WHERE s.execution_id = executions.id AND s.status = 'failed')"
    )


def downgrade():
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_column('has_errors')
