"""`POST /api/v1/executions/{id}/resume`: the owner resumes a waiting step of their run (as
"Resume now" on its page does), through services.executions.owner_resume."""

from __future__ import annotations

from flask import Response

from app.api import auth
from app.api.blueprint import bp
from app.api.bodies import parse_body
from app.api.executions import EXECUTION_ID, execution_out
from app.api.resume_schemas import ResumeRequest
from app.api.schemas import respond
from app.extensions import container, db
from app.services.executions import lifecycle, owner_resume, waits


@bp.post(f"/executions/{EXECUTION_ID}/resume")
def execution_resume(execution_id: int) -> Response:
    """Resume a waiting step with a call's body or a decision; 409 when it does not wait."""
    session = db.session()
    user = auth.current_user()
    execution = lifecycle.get_execution(session, execution_id, user.id)
    body = parse_body(ResumeRequest)
    stepline = container()
    resumer = waits.Resumer(stepline.engine, stepline.doorbell.send, stepline.runner.lease)
    decision = body.decision.model_dump() if body.decision is not None else None
    owner_resume.resume(
        session, resumer, execution, body.step, user.email, data=body.data, decision=decision
    )
    session.expire_all()
    return respond(execution_out(lifecycle.get_execution(session, execution_id, user.id)))
