"""Child runs (the `run_workflow` step): what the engine asks of whoever starts them.

The engine never imports the services, so starting a child run is a callable handed in by the
composition root (app.container: `services.executions.children.ChildStarter`) and reached by
an action through `StepContext.start_child`. Likewise the engine tells the services when a
message ends (`MessageEnded`), so that a child's end resumes its parent's waiting step
(`services.executions.parent_resume`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

RUN_WORKFLOW = "run_workflow"  # the action type that starts child runs
WAIT_KIND = "child"  # the kind of wait (app.engine.errors.Wait) of a step waiting for its child


@dataclass(frozen=True)
class ChildRequest:
    """Start a run of `workflow_id` with `data` as its trigger data, for the step at
    (`position`, `frame`) of the parent execution `parent_execution_id` of `user_id`."""

    parent_execution_id: int
    position: int
    frame: str
    user_id: int
    workflow_id: int
    data: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False


@dataclass(frozen=True)
class ChildStarted:
    """The child run of a step: started now, or found (`created` False: an earlier attempt
    of the same step run made it). `enabled`: the called workflow is active (a disabled one
    still runs its saved version when called)."""

    execution_id: int
    workflow_id: int
    workflow_name: str
    status: str
    depth: int
    created: bool = True
    enabled: bool = True


# Start (or find) the child run of a step; raises app.engine.errors.ConfigError when the
# workflow is not the user's or the depth limit is reached (neither is retried).
StartChild = Callable[[ChildRequest], ChildStarted]
