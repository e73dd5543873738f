"""The editor's working copy of a workflow: load it, store it, tell whether it differs.

Every editor change (add, move, configure a step...) changes a draft, never the saved
definition, so a half-configured step can exist and executions keep running the saved
version. Save publishes the draft through `crud.update_workflow` (see
services.workflows.draft_edits). A draft is a WorkflowSpec JSON whose steps always carry their key
(loops' and paths' steps nested in them, keys unique in the whole tree: see draft_tree)
and whose secrets stay encrypted; `samples` holds step outputs from "test this step", by step key;
`inputs` what a panel holds that the definition cannot yet (a step key typed but not applied, "Edit
as JSON" text that is not JSON yet), by panel: `{"steps": {key: {"key": …, "config_json": …}},
"trigger": {"config_json": …}}`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Workflow, WorkflowDraft
from app.services.errors import ConflictError
from app.services.workflows import draft_tree, tree
from app.services.workflows.crud import stored_spec


@dataclass
class Draft:
    """A workflow definition being edited, and what "test this step" produced for it."""

    workflow_id: int
    base_version: int
    spec: dict[str, Any]
    samples: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    stored: bool = False  # a row exists (the user has changed something since the last save)

    @property
    def steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = self.spec["steps"]
        return steps

    @property
    def trigger(self) -> dict[str, Any]:
        trigger: dict[str, Any] = self.spec["trigger"]
        return trigger

    def keys(self) -> list[str]:
        """Every step key of the tree (loops' and branches' steps too), in pre-order."""
        return [str(step["key"]) for step in draft_tree.each(self.steps)]

    def locate(self, key: str) -> draft_tree.Found:
        """Where the step with `key` is in the tree, or NotFoundError."""
        return draft_tree.find(self.steps, key)

    def index(self, key: str) -> int:
        """Position of the step with `key` in its own list, or NotFoundError."""
        return self.locate(key).index

    def where(self, key: str) -> str:
        """The step's dotted field path: `steps.2`, `steps.2.branches.0.steps.1`."""
        return self.locate(key).where

    def step(self, key: str) -> dict[str, Any]:
        return self.locate(key).step

    def held(self, key: str | None = None) -> dict[str, str]:
        """What the step's panel (the trigger's with None) holds beyond the definition."""
        if key is None:
            return dict(self.inputs.get("trigger") or {})
        return dict((self.inputs.get("steps") or {}).get(key) or {})

    def hold(self, key: str | None, values: dict[str, str]) -> None:
        """Keep `values` for the step's panel (the trigger's with None); {} forgets them."""
        if key is None:
            self.inputs.pop("trigger", None)
            if values:
                self.inputs["trigger"] = dict(values)
            return
        steps = dict(self.inputs.get("steps") or {})
        steps.pop(key, None)
        if values:
            steps[key] = dict(values)
        self.inputs.pop("steps", None)
        if steps:
            self.inputs["steps"] = steps


def live_spec(workflow: Workflow) -> dict[str, Any]:
    """The saved definition as draft JSON: to_spec's shape, with the encrypted secrets kept
    (to_spec leaves them out, and the draft must be able to save them back unchanged)."""
    spec = stored_spec(workflow).model_dump(mode="json")
    rows = {action.key: action for action in workflow.actions}
    for place in tree.walk(spec["steps"]):
        step = cast(dict[str, Any], place.step)
        step["config"] = copy.deepcopy(rows[step["key"]].config)
    if workflow.trigger is not None:
        spec["trigger"]["config"] = copy.deepcopy(workflow.trigger.config)
    return spec


def load(session: Session, workflow: Workflow, *, for_update: bool = False) -> Draft:
    """The workflow's draft, or a fresh one equal to the saved definition (not stored yet).

    `for_update` locks the row (PostgreSQL) so that two quick edits do not overwrite each
    other's read-modify-write."""
    row = session.get(
        WorkflowDraft, workflow.id, with_for_update=for_update, populate_existing=for_update
    )
    if row is not None:
        return Draft(
            workflow.id,
            row.base_version,
            copy.deepcopy(row.spec),
            copy.deepcopy(row.samples or {}),
            copy.deepcopy(row.inputs or {}),
            stored=True,
        )
    samples = {a.key: a.sample_output for a in workflow.actions if a.sample_output is not None}
    return Draft(workflow.id, workflow.version, live_spec(workflow), samples, {})


def store(session: Session, draft: Draft) -> Draft:
    """Write the draft (creating its row on the first change) and commit."""
    row = session.get(WorkflowDraft, draft.workflow_id)
    if row is None:
        row = WorkflowDraft(workflow_id=draft.workflow_id)
        session.add(row)
    row.base_version = draft.base_version
    row.spec = copy.deepcopy(draft.spec)
    row.samples = copy.deepcopy(draft.samples)
    row.inputs = copy.deepcopy(draft.inputs)
    try:
        session.commit()
    except IntegrityError:  # another request created the draft at the same moment
        session.rollback()
        raise ConflictError(
            "The workflow was being changed at the same time; reload and retry."
        ) from None
    draft.stored = True
    return draft


def discard(session: Session, workflow: Workflow) -> None:
    """Drop the unsaved changes: the editor shows the saved definition again."""
    row = session.get(WorkflowDraft, workflow.id)
    if row is not None:
        session.delete(row)
        session.commit()


def is_dirty(draft: Draft, workflow: Workflow) -> bool:
    """True when the draft's definition differs from the saved one."""
    return draft.stored and draft.spec != live_spec(workflow)


def has_unsaved(draft: Draft, workflow: Workflow) -> bool:
    """is_dirty, or a panel holds what the definition cannot yet (a key typed but not
    applied, JSON being typed): leaving the page asks first."""
    return is_dirty(draft, workflow) or (draft.stored and bool(draft.inputs))


def saved_elsewhere(draft: Draft, workflow: Workflow) -> bool:
    """True when someone saved the workflow (another tab, the API) after this draft began."""
    return draft.stored and draft.base_version != workflow.version
