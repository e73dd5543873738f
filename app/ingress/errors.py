"""Ingress errors: 503 when the database is unreachable, so that a sender retries and never
takes a failure for a delivery; 400 when the database refuses a value (which the edge checks of
app.models.storable should have caught: retrying could never help). Every other refusal (a
service error, an HTTP error) is answered by the app-level handlers (`app.errors`) in the JSON
error shape."""

from __future__ import annotations

import logging

from flask import Response
from sqlalchemy.exc import DataError, DBAPIError

from app.errors import json_error
from app.ingress.blueprint import bp

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER = "5"


@bp.errorhandler(DBAPIError)
def _database_down(exc: DBAPIError) -> Response:
    # The view's own session is closed (rolled back) already; the pool dropped a dead connection.
    if isinstance(exc, DataError):
        log.warning("webhook refused, the database refused a value: %s", type(exc.orig).__name__)
        return json_error(400, "bad_request", "The delivery holds a value that cannot be stored.")
    log.warning("webhook refused, database unavailable: %s", type(exc.orig).__name__)
    return json_error(
        503,
        "unavailable",
        "The service cannot store this delivery right now; retry later.",
        headers={"Retry-After": DATABASE_RETRY_AFTER},
    )
