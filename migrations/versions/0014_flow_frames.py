"""flow frames: where a step run sits in loops and paths

`execution_steps.frame`: the loop iterations around a step run ("" at top level, "L.i" in
iteration i of the loop at position L, "L.i.M.j" nested); `execution_steps.address`: where the
step is in the tree ("4/b/2"; "" for rows from before: the top-level step at `position`); one
row per (execution, position, frame). `executions.frame`: the frame of the run's cursor.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 01:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite rebuilds the table to change its unique constraint: keep AUTOINCREMENT (0012).
    with op.batch_alter_table('execution_steps', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('frame', sa.String(length=255), server_default='', nullable=False))
        batch_op.add_column(sa.Column('address', sa.String(length=64), server_default='', nullable=False))
        batch_op.drop_constraint('uq_execution_steps_execution_position', type_='unique')
        batch_op.create_unique_constraint('uq_execution_steps_execution_position_frame', ['execution_id', 'position', 'frame'])
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frame', sa.String(length=255), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_column('frame')
    # SQLite rebuilds the table to change its unique constraint: keep AUTOINCREMENT (0012).
    with op.batch_alter_table('execution_steps', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint('uq_execution_steps_execution_position_frame', type_='unique')
        batch_op.create_unique_constraint('uq_execution_steps_execution_position', ['execution_id', 'position'])
        batch_op.drop_column('address')
        batch_op.drop_column('frame')
