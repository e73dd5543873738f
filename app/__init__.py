"""Stepline: the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Assemble the app: settings, extensions, blueprints, CLI commands, the engine runtime."""
    from app import cli, errors, logs, runtime, security, sessions
    from app import config as settings
    from app.api import bp as api_bp
    from app.background import Background
    from app.extensions import csrf, db, htmx, login, migrate
    from app.hooks import bp as hooks_bp
    from app.ops import bp as ops_bp
    from app.template_cache import templates
    from app.web import bp as web_bp
    from app.web import google_oauth

    app = Flask(__name__, instance_relative_config=True, static_folder="../static")
    app.jinja_options = {**app.jinja_options, "bytecode_cache": templates}
    loaded = settings.load(app.instance_path, config)
    app.config.from_mapping(settings.flask_config(loaded, config))
    app.extensions[settings.EXTENSION] = loaded
    logs.configure(app.config)

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    login.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    security.init_app(app)
    sessions.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    google_oauth.init_app(app)  # Authlib's OAuth(app): one per app, never module-level

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(hooks_bp)
    app.register_blueprint(ops_bp)

    # The engine: a broker for this app's settings, a runtime on the app's database engine,
    # and (embedded default) worker and scheduler threads, started on the first request.
    _install_broker(app)
    with app.app_context():
        engine = db.engine if db.engine.dialect.name == "sqlite" else None
    rt = runtime.install(runtime.build(loaded, engine or runtime.engine_for(loaded)))
    background = Background(
        rt,
        worker_threads=int(app.config["WORKER_THREADS"]),
        poll_ms=int(app.config["WORKER_POLL_MS"]),
    )
    app.extensions["stepline.background"] = background
    if app.config["EMBEDDED_WORKER"]:
        app.before_request(background.start)
    return app


def _install_broker(app: Flask) -> None:
    """Make the process's Dramatiq broker the one this app's settings name."""
    import dramatiq

    from app import broker

    redis_url, namespace = app.config["REDIS_URL"], app.config["QUEUE_PREFIX"]
    if not broker.matches(dramatiq.get_broker(), redis_url, namespace):
        broker.install(redis_url, namespace)


def activate(app: Flask) -> None:
    """Make `app`'s broker and engine runtime the process's current ones again (after another
    app was built in the same process, as tests do)."""
    from app import runtime

    _install_broker(app)
    runtime.install(app.extensions["stepline.background"].runtime)
