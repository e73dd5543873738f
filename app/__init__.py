"""Stepline: the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Assemble the app: settings, extensions, blueprints, CLI commands, its container.

    The imports are here, not at the top, so that importing a module of the package (a worker
    process's `app.tasks`, say) does not load the web layer: `app/__init__.py` runs first on
    any `import app.<module>`. The import-graph test counts them like any other import."""
    from app import cli, errors, extensions, logs, proxy, response_headers, sessions
    from app import config as settings
    from app.api import bp as api_bp
    from app.compiled_templates import templates
    from app.container import Container, engine_for
    from app.embedded import EmbeddedWorker
    from app.extensions import csrf, db, htmx, login, migrate
    from app.ingress import bp as ingress_bp
    from app.ingress import direct, resume_bp
    from app.models import sqlite_pragmas
    from app.ops import bp as ops_bp
    from app.web import bp as web_bp
    from app.web import google_oauth, login_limits, login_sessions

    app = Flask(__name__, instance_relative_config=True, static_folder="../static")
    app.jinja_options = {**app.jinja_options, "bytecode_cache": templates}
    loaded = settings.load(app.instance_path, config)
    app.config.from_mapping(settings.flask_config(loaded, config))
    app.extensions[settings.EXTENSION] = loaded
    logs.configure(loaded)

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    login.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    response_headers.init_app(app)
    # Webhook deliveries, served in front of Flask's dispatch (inside ProxyFix: added before it).
    app.wsgi_app = direct.DirectHooks(app, app.wsgi_app)  # type: ignore[method-assign]
    proxy.init_app(app, loaded)  # forwarded headers, Secure cookies, HSTS, public URLs
    sqlite_pragmas.install()
    sessions.init_app(app)
    login_sessions.init_app(app)  # the session's row checked first, before CSRF
    errors.init_app(app)
    cli.init_app(app)
    google_oauth.init_app(app)  # Authlib's OAuth(app): one per app, never module-level

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ingress_bp)
    app.register_blueprint(resume_bp)
    app.register_blueprint(ops_bp)
    login_limits.init_app(app)  # wraps the login and registration views of this app

    # The composition root: a broker of its own, a runner on the app's database, and (the
    # embedded default) worker and scheduler threads, started on the first request.
    with app.app_context():
        engine = db.engine if db.engine.dialect.name == "sqlite" else None
    container = Container.build(loaded, engine or engine_for(loaded))
    embedded = EmbeddedWorker(
        container,
        worker_threads=loaded.worker_threads,
        poll_ms=loaded.worker_poll_ms,
    )
    extensions.bind(app, container, embedded)
    if loaded.embedded_worker:
        app.before_request(embedded.start)
    return app
