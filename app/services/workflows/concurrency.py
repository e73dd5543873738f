"""Optimistic concurrency of workflow saves: a writer names the version it read (the API's
If-Match, the version the editor loaded) and a save over a newer version is refused, saying who
saved it and when, instead of silently overwriting their work."""

from __future__ import annotations

from app.models import Workflow
from app.services.errors import PreconditionFailedError

EDITOR = "the editor"


def api_source(token_name: str) -> str:
    """How a save through the API is named to people: by its token."""
    return f"the API (token “{token_name}”)"


def check_version(workflow: Workflow, expected: int | None) -> None:
    """PreconditionFailedError unless `expected` (when given) is the workflow's version."""
    if expected is None or expected == workflow.version:
        return
    who = workflow.saved_by or "someone"
    when = f"{workflow.updated_at:%Y-%m-%d %H:%M} UTC"
    opened = f" at version {expected}" if expected > 0 else ""
    raise PreconditionFailedError(
        f"This workflow was changed by {who} at {when} (version {workflow.version}) since "
        f"you opened it{opened}.",
        workflow.version,
    )
