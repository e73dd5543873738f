"""Saving a draft as a new version, the History of earlier versions, restore, export, import.

Every save goes through `crud.update_workflow`, which bumps `Workflow.version` and keeps
the definition it replaces as a WorkflowVersion (so API saves land in History too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.crypto import SecretBox
from app.engine.redaction import REDACTED
from app.engine.registry import Handlers
from app.models import Workflow, WorkflowVersion
from app.services.errors import ConflictError, InvalidInputError, NotFoundError, found_id
from app.services.workflows import concurrency, drafts, flow_rules, tree, version_diff
from app.services.workflows.crud import create_workflow, to_spec, update_workflow
from app.services.workflows.specs import WorkflowSpec


def _spec_problem(exc: ValidationError) -> InvalidInputError:
    error = exc.errors()[0]
    return InvalidInputError(error["msg"], ".".join(str(p) for p in error["loc"]) or None)


def _update(
    session: Session,
    workflow: Workflow,
    spec: WorkflowSpec,
    secrets: SecretBox,
    handlers: Handlers,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> None:
    try:
        update_workflow(
            session,
            workflow,
            spec,
            secrets,
            handlers,
            note=note,
            expected_version=expected_version,
            saved_by=concurrency.EDITOR,
        )
    except IntegrityError:  # two saves of one version at once: the first one won
        session.rollback()
        raise ConflictError("Someone saved this workflow at the same moment; reload it.") from None


def _refuse_held(draft: drafts.Draft) -> None:
    """Save would drop what a panel holds beyond the definition: refuse, naming it."""
    for key, held in (draft.inputs.get("steps") or {}).items():
        place = tree.find(draft.steps, key)  # anywhere in the tree
        where = tree.dotted(place.path) if place is not None else "steps"
        if "key" in held:
            raise InvalidInputError(
                f"The key “{held['key']}” typed for step “{key}” is not applied yet: "
                "Apply it, or put back the key.",
                f"{where}.key",
            )
        if "config_json" in held:
            raise InvalidInputError(
                f"The settings of step “{key}” typed as JSON are not valid JSON yet.",
                f"{where}.config",
            )
    if "config_json" in (draft.inputs.get("trigger") or {}):
        raise InvalidInputError(
            "The trigger's settings typed as JSON are not valid JSON yet.", "trigger.config"
        )


def save_draft(
    session: Session,
    workflow: Workflow,
    secrets: SecretBox,
    handlers: Handlers,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> Workflow:
    """Publish the draft as the workflow's next version, with an optional note saying what it
    changes; test outputs become the steps' samples. Refused (InvalidInputError naming the
    field) while any part is invalid, and (PreconditionFailedError) when the workflow is no
    longer at `expected_version`, the version the editor page was working from."""
    draft = drafts.load(session, workflow, for_update=True)
    if not draft.stored:
        return workflow
    if drafts.is_dirty(draft, workflow):  # who saved first is news before any field problem
        concurrency.check_version(workflow, expected_version)
    _refuse_held(draft)
    if drafts.is_dirty(draft, workflow):  # else only test outputs changed: no new version
        try:
            spec = WorkflowSpec.model_validate(draft.spec)
        except ValidationError as exc:
            raise _spec_problem(exc) from None
        _update(
            session, workflow, spec, secrets, handlers, note=note, expected_version=expected_version
        )
    for action in workflow.actions:
        if action.key in draft.samples:
            action.sample_output = draft.samples[action.key]
    drafts.discard(session, workflow)
    session.commit()
    return workflow


def list_versions(session: Session, workflow: Workflow) -> list[WorkflowVersion]:
    """Earlier versions of the workflow, newest first."""
    return list(
        session.scalars(
            select(WorkflowVersion)
            .where(WorkflowVersion.workflow_id == workflow.id)
            .order_by(WorkflowVersion.version.desc())
        )
    )


def get_version(session: Session, workflow: Workflow, version: int) -> WorkflowVersion:
    """One earlier version of the (already owner-checked) workflow, or NotFoundError."""
    found_id(version, f"version {version} of workflow {workflow.id}")
    row = session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.version == version
        )
    )
    if row is None:
        raise NotFoundError(f"version {version} of workflow {workflow.id}")
    return row


def restore(
    session: Session,
    workflow: Workflow,
    version: WorkflowVersion,
    secrets: SecretBox,
    handlers: Handlers,
) -> Workflow:
    """Save an earlier version's definition as a new version; unsaved edits are dropped.

    Versions are stored without secrets: a secret field of a step whose key still exists keeps
    the current value (the mask tells update_workflow to keep it)."""
    try:
        spec = WorkflowSpec.model_validate(version.spec)
    except ValidationError as exc:
        raise _spec_problem(exc) from None
    current = {action.key: action.config for action in workflow.actions}
    data = spec.model_dump(mode="json")
    for place in tree.walk(data["steps"]):
        step = place.step
        if step["key"] in current and step["type"] in handlers.actions:
            for name in handlers.actions.get(step["type"]).secret_fields():
                if name not in step["config"] and current[step["key"]].get(name):
                    step["config"][name] = REDACTED
    spec = WorkflowSpec.model_validate(data)
    drafts.discard(session, workflow)
    _update(session, workflow, spec, secrets, handlers, note=f"Restored version {version.version}.")
    return workflow


@dataclass(frozen=True)
class VersionView:
    """One version as saved, to be read (not edited): History, the run page and the API."""

    version: int
    spec: dict[str, Any]
    saved_at: datetime
    replaced_at: datetime | None  # None: the current version
    note: str | None

    @property
    def current(self) -> bool:
        return self.replaced_at is None

    @property
    def step_count(self) -> int:
        """Steps in the whole tree (those inside loops and branches included)."""
        return sum(1 for _ in tree.walk(self.spec.get("steps") or []))


@dataclass(frozen=True)
class Entry(VersionView):
    """One version as History shows it, with what it changed from the version before."""

    changes: list[version_diff.Change]
    first: bool  # nothing earlier to compare with


def versions_of(session: Session, workflow: Workflow, handlers: Handlers) -> list[VersionView]:
    """The current version then the earlier ones, newest first."""
    return [_current(workflow, handlers)] + [_view(row) for row in list_versions(session, workflow)]


def _current(workflow: Workflow, handlers: Handlers) -> VersionView:
    spec = to_spec(workflow, handlers).model_dump(mode="json")
    return VersionView(workflow.version, spec, workflow.updated_at, None, workflow.version_note)


def _view(row: WorkflowVersion) -> VersionView:
    return VersionView(row.version, row.spec, row.saved_at, row.replaced_at, row.note)


def history(session: Session, workflow: Workflow, handlers: Handlers) -> list[Entry]:
    """The current version then the earlier ones, newest first, each with its changes."""
    views = versions_of(session, workflow, handlers)
    entries = []
    for index, view in enumerate(views):
        earlier = views[index + 1] if index + 1 < len(views) else None
        changes = version_diff.diff(earlier.spec, view.spec) if earlier is not None else []
        entries.append(Entry(**vars(view), changes=changes, first=earlier is None))
    return entries


def version_view(
    session: Session, workflow: Workflow, version: int, handlers: Handlers
) -> VersionView:
    """The (already owner-checked) workflow's saved definition at `version`, the current one
    included; NotFoundError for a version it never had."""
    if version == workflow.version:
        return _current(workflow, handlers)
    return _view(get_version(session, workflow, version))


def restore_preview(
    workflow: Workflow, version: WorkflowVersion, handlers: Handlers
) -> list[version_diff.Change]:
    """What restoring `version` would change in the current definition."""
    return version_diff.diff(to_spec(workflow, handlers).model_dump(mode="json"), version.spec)


def export_json(workflow: Workflow, handlers: Handlers) -> str:
    """The saved definition as a JSON document: no secrets, connections by id only."""
    return json.dumps(
        to_spec(workflow, handlers).model_dump(mode="json"), indent=2, ensure_ascii=False
    )


def _draft_spec(spec: WorkflowSpec, secrets: SecretBox, handlers: Handlers) -> dict[str, Any]:
    """An imported definition (keyed by flow_rules.settle) as draft JSON: secret values
    encrypted, at any depth."""
    data = spec.model_dump(mode="json")
    for place in tree.walk(data["steps"]):
        step = place.step
        for name in handlers.actions.get(step["type"]).secret_fields():
            value = step["config"].get(name)
            if isinstance(value, str) and value and not SecretBox.is_encrypted(value):
                step["config"][name] = secrets.encrypt(value)
    return data


def import_json(
    session: Session, owner_id: int, text: str, secrets: SecretBox, handlers: Handlers
) -> tuple[Workflow, bool]:
    """Create a (disabled) workflow from an exported JSON document (the editor's definition,
    or the API's export document around it); return it and whether it was saved complete.
    Exports hold no secrets, so a step may lack a required one: then the workflow is created
    without steps and the file becomes its draft, to finish and save."""
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"The file is not JSON: {exc}", field="file") from None
    if not isinstance(data, dict):
        raise InvalidInputError("The file must hold one workflow (a JSON object).", field="file")
    if "format" in data and isinstance(data.get("workflow"), dict):
        data = data["workflow"]  # the API's export document wraps the definition
    try:
        spec = WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_problem(exc) from None
    spec = flow_rules.settle(spec, handlers.max_loop_items)  # a broken tree is no draft either
    for place in tree.walk(spec.model_dump(mode="json")["steps"]):
        if place.step["type"] not in handlers.actions:
            where = tree.dotted((*place.path, "type"))
            raise InvalidInputError(f"Unknown action type {place.step['type']!r}.", where)
    try:
        return create_workflow(session, owner_id, spec, secrets, handlers), True
    except InvalidInputError as exc:
        session.rollback()
        if not (exc.field or "").startswith("steps."):
            raise
    empty = spec.model_copy(update={"steps": []})
    workflow = create_workflow(session, owner_id, empty, secrets, handlers)
    draft = drafts.load(session, workflow)
    draft.spec = _draft_spec(spec, secrets, handlers)
    drafts.store(session, draft)
    return workflow, False
