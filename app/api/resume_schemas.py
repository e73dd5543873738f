"""The body of `POST /api/v1/executions/{id}/resume`: which waiting step, and what resumes it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app.services.executions.owner_resume import MAX_COMMENT


class ApprovalDecision(BaseModel):
    """The owner's decision on an approval step."""

    model_config = ConfigDict(extra="forbid")

    approved: StrictBool = Field(description="true: approve; false: reject.")
    comment: str = Field("", max_length=MAX_COMMENT, description="Shown with the decision.")


class ResumeRequest(BaseModel):
    """Resume a waiting step of the execution as its owner: a step waiting for a call with
    `data` as the call's body, an approval step with a `decision`."""

    model_config = ConfigDict(extra="forbid")

    step: str = Field(min_length=1, max_length=100, description="The waiting step's key.")
    data: dict[str, Any] | None = Field(
        None,
        description="For a step waiting for a call (`wait_for_call`): the body of the call "
        "(the step's output is the call: method POST, this body, `resumed_by` you).",
    )
    decision: ApprovalDecision | None = Field(
        None, description="For an approval step: approve or reject, with a comment."
    )
