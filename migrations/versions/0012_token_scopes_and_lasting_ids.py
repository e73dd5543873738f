"""token scopes and expiry, who saved a workflow, ids never reused on SQLite

- `api_tokens.scope` (`read`: GET and HEAD only; `write`: everything; existing tokens could do
  everything, so they become `write`) and `api_tokens.expires_at` (NULL: never).
- `workflows.saved_by`: where the current version was saved from (the editor names it when a save
  is refused because someone saved first).
- SQLite reuses the largest rowid after a delete unless a table is declared AUTOINCREMENT, so a
  deleted workflow's id (and a stored Idempotency-Key answer naming it) could name a new object.
  The tables whose ids people and scripts see are rebuilt with AUTOINCREMENT (batch mode copies
  each one); PostgreSQL's sequences never reuse an id, so nothing changes there.

Rebuilding a table drops the old one, which with foreign keys enforced would delete (cascade)
every row that refers to it: every migration runs with them off on SQLite (migrations/env.py),
which checks the references once the migrations are done.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Parents before children (the order does not matter with foreign keys off; it reads better).
LASTING_ID_TABLES = (
    "users",
    "user_sessions",
    "api_tokens",
    "connections",
    "workflows",
    "triggers",
    "actions",
    "workflow_versions",
    "executions",
    "execution_steps",
)


def _rebuild(autoincrement: bool) -> None:
    """SQLite only: recreate the tables with (or without) AUTOINCREMENT, rows kept."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in LASTING_ID_TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=16), server_default="write", nullable=False)
        )
        batch_op.add_column(
            sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("saved_by", sa.String(length=200), nullable=True))
    _rebuild(autoincrement=True)


def downgrade():
    _rebuild(autoincrement=False)
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_column("saved_by")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scope")
