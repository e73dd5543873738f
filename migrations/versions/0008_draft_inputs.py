"""draft inputs: what a panel holds that the definition cannot yet

`workflow_drafts.inputs` keeps a step key typed but not applied and "Edit as JSON" text that
is not JSON yet, so that a reload shows them again (no edit is ever lost).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workflow_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade():
    with op.batch_alter_table('workflow_drafts', schema=None) as batch_op:
        batch_op.drop_column('inputs')
