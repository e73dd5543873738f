"""nested steps: `actions.parent_key`, `actions.branch`, `actions.flow`

Loop steps hold steps and paths steps hold branches of steps: a workflow keeps one `actions`
row per step of the whole tree, `position` in pre-order. A step inside a loop or paths step
names it (`parent_key`) and, in a paths step, its branch (`branch`: the branch key or
"otherwise"); a paths step keeps its branches' keys, names and conditions (`flow`). Existing
rows are top-level steps: all three NULL.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:45:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('branch', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('flow', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_column('flow')
        batch_op.drop_column('branch')
        batch_op.drop_column('parent_key')
