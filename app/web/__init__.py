"""Server-rendered pages and htmx fragments."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates")

from app.web import (  # noqa: E402,F401  (routes register on bp)
    auth,
    connections,
    editor,
    execution_actions,
    execution_display,
    executions,
    pages,
    settings,
    workflows,
)
