"""A workflow's versions: list them, read one, restore one (History, for scripts)."""

from __future__ import annotations

from flask import Response

from app.api.blueprint import bp
from app.api.schemas import VersionList, VersionOut, VersionSummary, respond
from app.api.workflows import WORKFLOW_ID, find_workflow, workflow_out
from app.extensions import container, db
from app.services.errors import ConflictError
from app.services.workflows import versions
from app.services.workflows.specs import WorkflowSpec

VERSION = "<int:version>"


def _summary(entry: versions.VersionView) -> VersionSummary:
    return VersionSummary(
        version=entry.version,
        current=entry.current,
        saved_at=entry.saved_at,
        replaced_at=entry.replaced_at,
        note=entry.note,
        step_count=entry.step_count,
    )


@bp.get(f"/workflows/{WORKFLOW_ID}/versions")
def version_list(workflow_id: int) -> Response:
    """Every version of the workflow, newest first."""
    views = versions.versions_of(db.session(), find_workflow(workflow_id), container().handlers)
    return respond(VersionList(items=[_summary(view) for view in views]))


@bp.get(f"/workflows/{WORKFLOW_ID}/versions/{VERSION}")
def version_show(workflow_id: int, version: int) -> Response:
    """One version with its definition."""
    workflow = find_workflow(workflow_id)
    view = versions.version_view(db.session(), workflow, version, container().handlers)
    definition = WorkflowSpec.model_validate(view.spec)
    return respond(VersionOut(**_summary(view).model_dump(), definition=definition))


@bp.post(f"/workflows/{WORKFLOW_ID}/versions/{VERSION}/restore")
def version_restore(workflow_id: int, version: int) -> Response:
    """Save an earlier version's definition as a new version."""
    session = db.session()
    workflow = find_workflow(workflow_id)
    if version == workflow.version:
        raise ConflictError(f"Version {version} is the current version.")
    earlier = versions.get_version(session, workflow, version)
    stepline = container()
    restored = versions.restore(session, workflow, earlier, stepline.secrets, stepline.handlers)
    return respond(workflow_out(restored))
