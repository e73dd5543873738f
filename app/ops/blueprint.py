"""The operations endpoints' blueprint, `ops`, in a module of its own.

Route modules import `bp` from here and `app/ops/__init__.py` imports the route modules, so that
no module imports a name from a package that imports it back (an import cycle).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ops", __name__)
