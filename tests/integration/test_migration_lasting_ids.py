"""Migration 0012 on SQLite: the tables whose ids people see become AUTOINCREMENT, rows kept.

`flask_migrate.check()` does not compare `sqlite_autoincrement`, so the models and the migrated
schema are compared here directly.
"""

from __future__ import annotations

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.models import Base
from tests.conftest import base_config, create_database, drop_database


def _create_sql(table: str) -> str:
    return str(
        db.session.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
            {"name": table},
        ).scalar_one()
    )


def test_models_and_migrations_agree_on_autoincrement(tmp_path: Path) -> None:
    url = create_database("sqlite", tmp_path)
    try:
        app = create_app(base_config(url))
        with app.app_context():
            upgrade()
            for table in Base.metadata.sorted_tables:
                wanted = bool(table.dialect_options["sqlite"].get("autoincrement"))
                assert ("AUTOINCREMENT" in _create_sql(table.name)) == wanted, table.name
            db.engine.dispose()
    finally:
        drop_database(url)


def test_the_rebuild_keeps_every_row_and_reference(tmp_path: Path) -> None:
    # Given a database at 0010 (the one before) holding a user, a workflow and its trigger and
    # step, an execution and its step
    url = create_database("sqlite", tmp_path)
    try:
        app = create_app(base_config(url))
        with app.app_context():
            upgrade(revision="0010")
            statements = [
                "INSERT INTO users (id, email, name, password_hash, created_at) "
                "VALUES (7, 'a@example.com', '', 'x', '2026-01-01 00:00:00')",
                "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at) "
                "VALUES (3, 7, 'ci', 'h', 'stp_x', '2026-01-01 00:00:00')",
                "INSERT INTO workflows (id, user_id, name, description, enabled, version, "
                "created_at, updated_at) VALUES (5, 7, 'w', '', 0, 1, '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')",
                "INSERT INTO triggers (id, workflow_id, type, config, state, created_at, "
                "updated_at) VALUES (9, 5, 'manual', '{}', '{}', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')",
                "INSERT INTO actions (id, workflow_id, position, key, type, name, config, retry, "
                "enabled, continue_on_error) VALUES (11, 5, 0, 'a', 'transform', '', '{}', '{}', "
                "1, 0)",
                "INSERT INTO executions (id, workflow_id, user_id, status, trigger_type, "
                "trigger_data, snapshot, position, workflow_version, created_at, updated_at) "
                "VALUES (13, 5, 7, "
                "'completed', 'manual', '{}', '{}', 0, 1, '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')",
                "INSERT INTO execution_steps (id, execution_id, position, action_key, "
                "action_type, status, attempts, attempt_log) VALUES (17, 13, 0, 'a', "
                "'transform', 'completed', 1, '[]')",
            ]
            for statement in statements:
                db.session.execute(text(statement))
            db.session.commit()

            # When it is upgraded to 0012 (every table rebuilt)
            upgrade(revision="0012")

            # Then every row is still there, and old tokens keep the power they had
            counts = {
                table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("users", "workflows", "triggers", "actions", "executions")
            }
            assert counts == dict.fromkeys(counts, 1)
            assert db.session.execute(text("SELECT scope FROM api_tokens")).scalar_one() == "write"
            assert db.session.execute(text("SELECT id FROM execution_steps")).scalar_one() == 17
            assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            # And a deleted workflow's id is never handed out again
            db.session.execute(text("DELETE FROM workflows WHERE id = 5"))
            db.session.execute(
                text(
                    "INSERT INTO workflows (user_id, name, description, enabled, version, "
                    "created_at, updated_at) VALUES (7, 'v', '', 0, 1, '2026-01-01 00:00:00', "
                    "'2026-01-01 00:00:00')"
                )
            )
            assert db.session.execute(text("SELECT max(id) FROM workflows")).scalar_one() == 6
            assert db.session.execute(text("SELECT count(*) FROM actions")).scalar_one() == 0
            db.session.commit()

            # And the downgrade rebuilds them without AUTOINCREMENT again, rows kept
            downgrade(revision="0010")
            assert "AUTOINCREMENT" not in _create_sql("workflows")
            assert db.session.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
            db.engine.dispose()
    finally:
        drop_database(url)


def test_upgrading_an_sqlite_database_from_0008_keeps_every_execution_step(
    tmp_path: Path,
) -> None:
    # Given an embedded (SQLite) database at 0008 with an execution and its step
    url = create_database("sqlite", tmp_path)
    try:
        app = create_app(base_config(url))
        with app.app_context():
            upgrade(revision="0008")
            for statement in (
                "INSERT INTO users (id, email, name, password_hash, created_at) "
                "VALUES (7, 'a@example.com', '', 'x', '2026-01-01 00:00:00')",
                "INSERT INTO workflows (id, user_id, name, description, enabled, version, "
                "created_at, updated_at) VALUES (5, 7, 'w', '', 0, 1, '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')",
                "INSERT INTO executions (id, workflow_id, user_id, status, trigger_type, "
                "trigger_data, snapshot, position, workflow_version, created_at, updated_at) "
                "VALUES (13, 5, 7, 'completed', 'manual', '{}', '{}', 0, 1, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                "INSERT INTO execution_steps (id, execution_id, position, action_key, "
                "action_type, status, attempts, attempt_log) VALUES (17, 13, 0, 'a', "
                "'transform', 'completed', 1, '[]')",
            ):
                db.session.execute(text(statement))
            db.session.commit()

            # When it is upgraded to the newest schema (0009 rebuilds `executions`)
            upgrade()

            # Then the step is still there (a rebuild with foreign keys on cascaded it away)
            assert db.session.execute(text("SELECT id FROM execution_steps")).scalar_one() == 17
            assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            db.engine.dispose()
    finally:
        drop_database(url)
