"""Server-rendered pages and htmx fragments."""

from __future__ import annotations

from app.web import (  # noqa: F401  (routes register on bp)
    auth,
    connections,
    credentials,
    editor,
    execution_actions,
    execution_approval,
    execution_display,
    executions,
    pages,
    settings,
    settings_security,
    workflows,
)
from app.web.blueprint import bp

__all__ = ["bp"]
