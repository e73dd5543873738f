"""google connections: refresh claim and back-off on connections, one connection per account,
single-use OAuth states

`refresh_claimed_until` lets one process refresh a connection's access token at a time on SQLite
(PostgreSQL locks the row); `backoff_until` holds Google's Retry-After for the whole connection.
`oauth_states` keeps authorization requests server-side so that a callback's state is used once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 19:38:34.912742

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('oauth_states',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('expires_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_oauth_states'))
    )
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_states_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_claimed_until', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('backoff_until', app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_connections_user_provider_email', ['user_id', 'provider', 'account_email'])



def downgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_constraint('uq_connections_user_provider_email', type_='unique')
        batch_op.drop_column('backoff_until')
        batch_op.drop_column('refresh_claimed_until')

    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_states_expires_at'))

    op.drop_table('oauth_states')
