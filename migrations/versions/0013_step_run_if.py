"""step run-if: `actions.run_if`, a step's "Run only if" conditions

A step may carry conditions (the filter's operators, all/any, groups); when they do not hold
the step is skipped and the run goes on. NULL: the step always runs.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 23:45:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_if', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_column('run_if')
