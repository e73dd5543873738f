"""`POST /resume/<token>`: the call a `wait_for_call` step waits for. No login and no CSRF
token: the URL is the credential (an HMAC, app.engine.resume_urls) and single use. The request
(method, query, headers without credentials, body) becomes the step's output."""

from __future__ import annotations

from flask import Response, jsonify

from app.container import Container
from app.extensions import container
from app.ingress.resume_blueprint import resume_bp
from app.ingress.views import ingress_session, read_request
from app.services.errors import ConflictError
from app.services.executions import waits
from app.services.webhooks.request_data import trigger_data

CALL_TYPES = ("wait_for_call",)


def resumer(stepline: Container) -> waits.Resumer:
    """The container's database, doorbell and lease, for a resume."""
    return waits.Resumer(stepline.engine, stepline.doorbell.send, stepline.runner.lease)


@resume_bp.route("/<token>", methods=["POST", "PUT"], provide_automatic_options=False)
def resume_call(token: str) -> Response:
    """Resume the waiting `wait_for_call` step the token names with this request: 200 with
    the execution id; 409 when it is not waiting any more; 404 for a forged token."""
    stepline = container()
    ref = waits.ref_of(stepline.settings.secret_key_value, token)
    with ingress_session(stepline) as session:
        execution, step = waits.find_step(session, ref)
    if step.action_type not in CALL_TYPES:
        raise ConflictError("This step waits for a decision on its page, not for a call.")
    request_data = trigger_data(read_request(""))  # a body no database stores is a 400 here
    request_data.pop("path", None)
    waits.resume(resumer(stepline), ref, {"kind": "call", "request": request_data})
    return jsonify(resumed=True, execution_id=execution.id)
