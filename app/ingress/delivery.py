"""One webhook delivery, from a request to its answer, whoever serves it: the Flask view
(app/ingress/views.py) or the direct WSGI path in front of Flask (app/ingress/direct.py).

The request is read into a `WebhookRequest` (body capped at STEPLINE_MAX_PAYLOAD_BYTES: over it,
werkzeug raises 413), `receiver.receive` stores the execution, wait mode waits for its end, and
the answer comes back as an `Answer`: a status, a JSON body and the headers of this answer alone
(`Idempotent-Replayed`, `X-Execution-Id`, a refusal's `Allow` or `Retry-After`). Each server
turns it into its own response object, with the headers every answer carries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Request
from sqlalchemy.orm import Session

from app.container import Container
from app.models.base import utcnow
from app.services.errors import ServiceError
from app.services.webhooks import receiver
from app.services.webhooks.request_data import WebhookRequest


@dataclass(frozen=True, slots=True)
class Answer:
    """What a delivery answers: `body` is JSON-able; `headers` are this answer's own."""

    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


def ingress_session(stepline: Container) -> Session:
    """A session of its own on the container's engine (no pre-ping round trip on checkout: a
    connection found dead fails the request with 503, which senders retry, and the pool drops
    its connections); objects stay loaded after the commit (no reload query on the hot path),
    and it is closed, its transaction rolled back, whatever happens.

    On PostgreSQL the token lookup and the insert of `ingress_start.start_id` bypass it (one
    autocommit statement each, app.models.pg_autocommit): a plain delivery checks out no connection
    for the session at all."""
    return Session(stepline.engine, expire_on_commit=False)


def _headers(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _form(request: Request) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in request.form.items(multi=True):
        fields.setdefault(name, []).append(value)
    for name, upload in request.files.items(multi=True):
        size = len(upload.read())
        meta = {"filename": upload.filename, "content_type": upload.mimetype, "size": size}
        fields.setdefault(name, []).append(meta)
    return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}


def read(request: Request, subpath: str, max_bytes: int) -> WebhookRequest:
    """`request` as the services see it; a body over `max_bytes` is refused (413)."""
    request.max_content_length = max_bytes
    body = request.get_data(cache=True)
    mimetype = request.mimetype
    return WebhookRequest(
        method=request.method,
        path="/" + subpath,
        headers=_headers(request),
        body=body,
        content_type=mimetype,
        query=list(request.args.items(multi=True)),
        form=_form(request) if mimetype == "multipart/form-data" else None,
        received_at=utcnow(),
    )


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON error shape (app.errors.json_error's): {"error": {"code", "message", "field"?}}."""
    body: dict[str, object] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return {"error": body}


def refusal(exc: ServiceError) -> Answer:
    """A service's refusal as app.errors answers it under /hooks/ (404, 401, 405 with Allow,
    429 with Retry-After, 400 naming the path...)."""
    return Answer(
        exc.status, error_body(exc.code, exc.message, exc.field), tuple(exc.headers.items())
    )


def _waited(outcome: receiver.Outcome) -> Answer:
    execution = ("X-Execution-Id", str(outcome.execution_id))
    if outcome.status == "completed":
        return Answer(200, outcome.output or {}, (execution,))
    if outcome.finished:
        message = f"Execution {outcome.execution_id} {outcome.status}."
        return Answer(502, error_body("execution_" + outcome.status, message), (execution,))
    message = f"Execution {outcome.execution_id} did not finish in time; it goes on."
    return Answer(504, error_body("timeout", message), (execution,))


def deliver(stepline: Container, token: str, subpath: str, request: Request) -> Answer:
    """A delivery to a webhook: 202 with the execution id once it is stored (or, in wait
    mode, the run's last output). Refusals raise, as `receiver.receive` does."""
    began = time.monotonic()  # before the execution exists: wait mode hears its end after
    with ingress_session(stepline) as session:
        receipt = receiver.receive(
            session,
            token,
            read(request, subpath, stepline.settings.max_payload_bytes),
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
    body = {"execution_id": receipt.execution_id, "duplicate": receipt.replayed}
    replayed = (("Idempotent-Replayed", "true"),) if receipt.replayed else ()
    return Answer(202, body, replayed)
