"""/healthz, /readyz and /metrics. Thin: run the checks or collect the figures, answer."""

from __future__ import annotations

import hmac

from flask import Response, jsonify, request
from werkzeug.exceptions import NotFound

from app.errors import json_error
from app.extensions import container, db
from app.ops import checks, metrics
from app.ops.blueprint import bp


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def health_live() -> Response:
    """The process is up and answers requests (it touches no other service)."""
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
def health_ready() -> Response:
    """The database and the broker are reachable; 503 naming what failed otherwise."""
    found = [checks.database(db.engine), checks.broker(container().settings)]
    failed = [check.name for check in found if not check.ok]
    body = {
        "status": "unavailable" if failed else "ok",
        "failed": failed,
        # Public endpoint: whether each check passed, not the details (hosts, errors).
        "checks": {check.name: "ok" if check.ok else "unreachable" for check in found},
    }
    response = jsonify(body)
    response.status_code = 503 if failed else 200
    return _no_store(response)


def _authorized() -> bool:
    token = container().settings.metrics_token
    if token is None:
        raise NotFound()  # metrics are off unless an operator gave them a token
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    )


@bp.get("/metrics")
def metrics_show() -> Response:
    """Prometheus text format, for a bearer of METRICS_TOKEN."""
    if not _authorized():
        response = json_error(
            401,
            "unauthorized",
            "A bearer token (STEPLINE_METRICS_TOKEN) is required.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
        return _no_store(response)
    stepline = container()
    figures = metrics.collect(db.session(), stepline.settings, stepline.doorbell.queue_depth)
    response = Response(metrics.exposition(figures), content_type=metrics.CONTENT_TYPE)
    return _no_store(response)
