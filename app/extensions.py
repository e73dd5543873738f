"""Flask extensions, created unbound here and bound to an app in create_app; and the one way
views (web, api, hooks, ops) reach their app's composition root: `container()`."""

from __future__ import annotations

from flask import Flask, current_app
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.container import Container
from app.embedded import EmbeddedWorker
from app.models.base import Base

CONTAINER = "stepline.container"
EMBEDDED = "stepline.embedded"

# Models are plain SQLAlchemy (see models/base.py); Flask-SQLAlchemy shares their metadata.
db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()


def bind(app: Flask, container: Container, embedded: EmbeddedWorker) -> None:
    """Give `app` its container and embedded worker (create_app does, once)."""
    app.extensions[CONTAINER] = container
    app.extensions[EMBEDDED] = embedded


def container(app: Flask | None = None) -> Container:
    """The container of `app`, or of the app handling the current request or command."""
    found: Container = (app or current_app).extensions[CONTAINER]
    return found


def embedded_worker(app: Flask | None = None) -> EmbeddedWorker:
    """The worker and scheduler threads of `app` (started on its first request when
    EMBEDDED_WORKER is on; tests start and stop them)."""
    found: EmbeddedWorker = (app or current_app).extensions[EMBEDDED]
    return found
