"""The public resume URLs, `/resume/<token>` (blueprint `resume`), in a module of its own so
that route modules (`resume`, `approval`) import it without an import cycle."""

from __future__ import annotations

from flask import Blueprint

resume_bp = Blueprint("resume", __name__, url_prefix="/resume")
