"""The webhook ingress blueprint, `hooks` (under /hooks), in a module of its own.

Route modules import `bp` from here and `app/ingress/__init__.py` imports the route modules, so
that no module imports a name from a package that imports it back (an import cycle).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
