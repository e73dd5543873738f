"""The webhook URL and its test URL. Views read the request, call one service, answer JSON.

A delivery to the webhook URL is served by app/ingress/direct.py in front of Flask's dispatch
whenever its path is a plain one; `hook_receive` serves the others (and tests that call Flask's
dispatch directly) with the same logic, app/ingress/delivery.py."""

from __future__ import annotations

from flask import Response, jsonify, request

from app.extensions import container
from app.ingress import delivery
from app.ingress.blueprint import bp
from app.ingress.delivery import ingress_session as ingress_session  # the resume views' too
from app.services.webhooks import receiver
from app.services.webhooks.request_data import WebhookRequest

# Every method reaches the view, so that a wrong token is 404 whatever the method and a method
# the webhook does not accept is 405 (OPTIONS too: no automatic answer for unknown tokens).
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def read_request(subpath: str) -> WebhookRequest:
    """The request as the services see it; a body over STEPLINE_MAX_PAYLOAD_BYTES is refused
    (413)."""
    return delivery.read(request, subpath, container().settings.max_payload_bytes)


def answer_response(answer: delivery.Answer) -> Response:
    """`answer` as a Flask response (the after-request hooks add the common headers)."""
    response = jsonify(answer.body)
    response.status_code = answer.status
    for name, value in answer.headers:
        response.headers[name] = value
    return response


@bp.route("/<token>", methods=METHODS, defaults={"subpath": ""}, provide_automatic_options=False)
@bp.route("/<token>/<path:subpath>", methods=METHODS, provide_automatic_options=False)
def hook_receive(token: str, subpath: str) -> Response:
    """A delivery to a webhook: 202 with the execution id once it is stored (or, in wait
    mode, the run's last output)."""
    return answer_response(delivery.deliver(container(), token, subpath, request))


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
