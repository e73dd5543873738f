"""App-level error handlers, the one place errors become answers: HTML pages for people, the
JSON error shape `{"error": {"code", "message", "field"?}}` for the API and webhook ingress
(and for clients that ask for JSON); never a stack trace.

A service error (`app.services.errors`) carries its status, code and message; a Werkzeug HTTP
error (`abort(404)`, a route that does not exist) gets a code from its name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from app.extensions import db, htmx
from app.logs import safe_path
from app.services.errors import NotFoundError, PayloadTooLargeError, ServiceError

log = logging.getLogger(__name__)

# Every answer under these paths is JSON, whatever the client accepts.
JSON_PREFIXES = ("/api/", "/hooks/")
# What a page says for a missing object: the same for another user's, and no ids or names.
NOT_FOUND_PAGE = "There is nothing here, or it is not yours to see."


def wants_json() -> bool:
    """The API, webhooks and calls to resume URLs answer JSON; elsewhere, a client that
    prefers JSON (not htmx)."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    if request.endpoint == "resume.resume_call":  # a program calls a wait step's resume URL
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and not htmx


def json_error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The one JSON error shape: {"error": {"code", "message", "field"?}}, with `status`."""
    body: dict[str, object] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    response = jsonify(error=body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _page(status: int, message: str, headers: list[tuple[str, str]]) -> ResponseReturnValue:
    title = HTTP_STATUS_CODES.get(status, "Error")
    page = render_template("error.html", status=status, title=title, message=message)
    return page, status, headers


def _handle_service_error(exc: ServiceError) -> ResponseReturnValue:
    # Nothing the refused request changed may be committed by a later use of the session.
    db.session.rollback()
    if wants_json():
        return json_error(exc.status, exc.code, exc.message, exc.field, exc.headers)
    # Not-found messages name the object for API callers ("workflow 12"); pages say it plainly.
    message = NOT_FOUND_PAGE if isinstance(exc, NotFoundError) else exc.message
    return _page(exc.status, message, list(exc.headers.items()))


def _code_for(exc: HTTPException) -> str:
    if isinstance(exc, RequestEntityTooLarge):
        return PayloadTooLargeError.code
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def _render(exc: HTTPException, message: str | None = None) -> ResponseReturnValue:
    status = exc.code or 500
    # Headers the status requires (Allow on 405, WWW-Authenticate on 401) survive the re-render.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if wants_json():
        if isinstance(exc, RequestEntityTooLarge):
            message = message or PayloadTooLargeError.default_message
        text = message or exc.description or exc.name
        return json_error(status, _code_for(exc), text, headers=dict(headers))
    return _page(status, message or exc.description or exc.name, headers)


def _handle_http(exc: HTTPException) -> ResponseReturnValue:
    if exc.response is not None:
        return exc.response
    return _render(exc)


def _handle_csrf(exc: CSRFError) -> ResponseReturnValue:
    return _render(exc, "The form expired or was not sent by this site. Reload and try again.")


def _handle_unexpected(exc: Exception) -> ResponseReturnValue:
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, safe_path(request.path))
    return _render(InternalServerError(), "Something went wrong on our side. It has been logged.")


def init_app(app: Flask) -> None:
    """Register the handlers on `app` (blueprints add none for these classes)."""
    app.register_error_handler(ServiceError, _handle_service_error)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
