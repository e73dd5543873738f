"""The JSON API's blueprint, `api` (under /api/v1), in a module of its own.

Route modules import `bp` from here and `app/api/__init__.py` imports the route modules, so that
no module imports a name from a package that imports it back (an import cycle).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")
