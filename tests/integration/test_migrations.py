"""The migration chain: upgrade, downgrade, upgrade again; no drift from the models."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db
from app.models import Base
from tests.conftest import base_config, create_database, drop_database


def test_upgrade_downgrade_upgrade_and_no_drift(backend: str, tmp_path: Path) -> None:
    url = create_database(backend, tmp_path)
    try:
        app = create_app(base_config(url))
        with app.app_context():
            upgrade()
            assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            check()  # raises if the models and the migrations disagree
            db.engine.dispose()
    finally:
        drop_database(url)
