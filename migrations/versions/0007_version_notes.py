"""version notes: an optional note written on Save, kept with the version

`workflows.version_note` holds the current version's note; a save copies it into the
`workflow_versions.note` of the version it replaces.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_note', sa.String(length=500), nullable=True))

    with op.batch_alter_table('workflow_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('workflow_versions', schema=None) as batch_op:
        batch_op.drop_column('note')

    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_column('version_note')
