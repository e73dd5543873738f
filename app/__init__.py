"""Stepline: the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Assemble the app: settings, extensions, blueprints, CLI commands."""
    from app import cli, errors, security
    from app import config as settings
    from app.api import bp as api_bp
    from app.extensions import csrf, db, htmx, login, migrate
    from app.web import bp as web_bp

    app = Flask(__name__, instance_relative_config=True, static_folder="../static")
    app.config.from_mapping(settings.load(app.instance_path, config))

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    login.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    return app
