"""Ingress errors: 503 when the database is unreachable, so that a sender retries and never
takes a failure for a delivery. Every other refusal (a service error, an HTTP error) is answered
by the app-level handlers (`app.errors`) in the JSON error shape."""

from __future__ import annotations

import logging

from flask import Response
from sqlalchemy.exc import DBAPIError

from app.errors import json_error
from app.ingress.blueprint import bp

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER = "5"


@bp.errorhandler(DBAPIError)
def _database_down(exc: DBAPIError) -> Response:
    # The view's own session is closed (rolled back) already; the pool dropped a dead connection.
    log.warning("webhook refused, database unavailable: %s", type(exc.orig).__name__)
    return json_error(
        503,
        "unavailable",
        "The service cannot store this delivery right now; retry later.",
        headers={"Retry-After": DATABASE_RETRY_AFTER},
    )
