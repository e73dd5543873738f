"""App-level error handlers: HTML for pages, JSON for the API; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.logs import safe_path

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and not request.headers.get("HX-Request")


def error_response(
    status: int, code: str, message: str, field: str | None = None
) -> tuple[Response, int]:
    """The one JSON error shape: {"error": {"code", "message", "field"?}}."""
    body: dict[str, object] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return jsonify(error=body), status


def _code_for(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def _render(exc: HTTPException, message: str | None = None) -> ResponseReturnValue:
    status = exc.code or 500
    message = message or exc.description or exc.name
    # Headers the status requires (Allow on 405, WWW-Authenticate on 401) survive the re-render.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if wants_json():
        response, _ = error_response(status, _code_for(exc), message)
        return response, status, headers
    page = render_template("error.html", status=status, title=exc.name, message=message)
    return page, status, headers


def _handle_http(exc: HTTPException) -> ResponseReturnValue:
    if exc.response is not None:
        return exc.response
    return _render(exc)


def _handle_csrf(exc: CSRFError) -> ResponseReturnValue:
    return _render(exc, "The form expired or was not sent by this site. Reload and try again.")


def _handle_unexpected(exc: Exception) -> ResponseReturnValue:
    from app.extensions import db

    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, safe_path(request.path))
    return _render(InternalServerError(), "Something went wrong on our side. It has been logged.")


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
