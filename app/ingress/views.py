"""The webhook URL and its test URL. Views read the request, call one service, answer JSON."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy.orm import Session

from app.container import Container
from app.errors import json_error
from app.extensions import container
from app.ingress.blueprint import bp
from app.models.base import utcnow
from app.services.webhooks import receiver
from app.services.webhooks.request_data import WebhookRequest

# Every method reaches the view, so that a wrong token is 404 whatever the method and a method
# the webhook does not accept is 405 (OPTIONS too: no automatic answer for unknown tokens).
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def ingress_session(stepline: Container) -> Session:
    """A session of its own on the container's engine (no pre-ping round trip on checkout: a
    connection found dead fails the request with 503, which senders retry, and the pool drops
    its connections); objects stay loaded after the commit (no reload query on the hot path),
    and it is closed, its transaction rolled back, whatever happens.

    On PostgreSQL the token lookup and the insert of `ingress_start.start_id` bypass it (one
    autocommit statement each, app.models.pg_autocommit): a plain delivery checks out no connection
    for the session at all."""
    return Session(stepline.engine, expire_on_commit=False)


def _headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _form() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in request.form.items(multi=True):
        fields.setdefault(name, []).append(value)
    for name, upload in request.files.items(multi=True):
        size = len(upload.read())
        meta = {"filename": upload.filename, "content_type": upload.mimetype, "size": size}
        fields.setdefault(name, []).append(meta)
    return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}


def read_request(subpath: str) -> WebhookRequest:
    """The request as the services see it; a body over STEPLINE_MAX_PAYLOAD_BYTES is refused
    (413)."""
    request.max_content_length = container().settings.max_payload_bytes
    body = request.get_data(cache=True)
    return WebhookRequest(
        method=request.method,
        path="/" + subpath,
        headers=_headers(),
        body=body,
        content_type=request.mimetype,
        query=list(request.args.items(multi=True)),
        form=_form() if request.mimetype == "multipart/form-data" else None,
        received_at=utcnow(),
    )


def _waited(outcome: receiver.Outcome) -> Response:
    if outcome.status == "completed":
        response = jsonify(outcome.output or {})
    elif outcome.finished:
        message = f"Execution {outcome.execution_id} {outcome.status}."
        response = json_error(502, "execution_" + outcome.status, message)
    else:
        message = f"Execution {outcome.execution_id} did not finish in time; it goes on."
        response = json_error(504, "timeout", message)
    response.headers["X-Execution-Id"] = str(outcome.execution_id)
    return response


@bp.route("/<token>", methods=METHODS, defaults={"subpath": ""}, provide_automatic_options=False)
@bp.route("/<token>/<path:subpath>", methods=METHODS, provide_automatic_options=False)
def hook_receive(token: str, subpath: str) -> Response:
    """A delivery to a webhook: 202 with the execution id once it is stored (or, in wait
    mode, the run's last output)."""
    stepline = container()
    began = time.monotonic()  # before the execution exists: wait mode hears its end after
    with ingress_session(stepline) as session:
        receipt = receiver.receive(
            session,
            token,
            read_request(subpath),
            settings=stepline.settings,
            secrets=stepline.secrets,
            send=stepline.doorbell.send,
            admission=stepline.admission,
        )
    if receipt.response_mode == "wait" and receipt.execution_id is not None:
        outcome = receiver.wait_for(
            stepline.session_factory,
            receipt.execution_id,
            receipt.wait_timeout,
            watch=stepline.finish_watch,
            since=None if receipt.replayed else began,  # a replay may have ended long ago
        )
        return _waited(outcome)
    response = jsonify(execution_id=receipt.execution_id, duplicate=receipt.replayed)
    response.status_code = 202
    if receipt.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.route(
    "/test/<token>", methods=METHODS, defaults={"subpath": ""}, provide_automatic_options=False
)
@bp.route("/test/<token>/<path:subpath>", methods=METHODS, provide_automatic_options=False)
def hook_test(token: str, subpath: str) -> Response:
    """A request to the test URL while the editor listens: stored as sample data, not run."""
    stepline = container()
    with ingress_session(stepline) as session:
        receiver.capture(
            session,
            token,
            read_request(subpath),
            secrets=stepline.secrets,
            admission=stepline.admission,
        )
    return jsonify(captured=True)
