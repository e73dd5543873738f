"""executions: four indexes hold only the rows they are searched for

Every write of an execution (its insert, its claim, its end) changes an indexed column, so each
index takes an entry per write. Four indexes are searched only for rows where a column is set:
a run key, a re-run's origin, a child's parent step, a live run's lease. Made partial
(`... IS NOT NULL`), a webhook's execution writes about ten index entries fewer. On PostgreSQL
each new index is built CONCURRENTLY under a temporary name before the old one goes (the unique
one keeps its guarantee throughout): an upgrade on a large table blocks no insert.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 08:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

# (name, columns, unique, the column that must be set)
INDEXES = [
    ('ix_executions_workflow_id_run_key', ['workflow_id', 'run_key'], False, 'run_key'),
    ('ix_executions_rerun_of_id', ['rerun_of_id'], False, 'rerun_of_id'),
    ('ix_executions_lease_expires_at', ['lease_expires_at'], False, 'lease_expires_at'),
    (
        'uq_executions_parent_step',
        ['parent_execution_id', 'parent_position', 'parent_frame'],
        True,
        'parent_execution_id',
    ),
]

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def _replace(partial: bool) -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name, columns, unique, column in INDEXES:
        where = sa.text(f'{column} IS NOT NULL') if partial else None
        if not postgresql:
            op.drop_index(name, table_name='executions')
            op.create_index(name, 'executions', columns, unique=unique, sqlite_where=where)
            continue
        with op.get_context().autocommit_block():
            # an earlier upgrade cut short may have left an invalid one
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {name}_new')
            op.create_index(
                f'{name}_new', 'executions', columns, unique=unique,
                postgresql_concurrently=True, postgresql_where=where,
            )
            op.drop_index(name, table_name='executions', postgresql_concurrently=True)
            op.execute(f'ALTER INDEX {name}_new RENAME TO {name}')


def upgrade():
    _replace(partial=True)


def downgrade():
    _replace(partial=False)
