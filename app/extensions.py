"""Flask extensions, created unbound here and bound to an app in create_app."""

from __future__ import annotations

from flask_htmx import HTMX
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.models.base import Base

# Models are plain SQLAlchemy (see models/base.py); Flask-SQLAlchemy shares their metadata.
db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
