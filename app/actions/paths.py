"""Paths: run the branch (or every branch) whose condition holds, else "otherwise"."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext


class PathsConfig(ActionConfig):
    mode: Literal["first", "all"] = Field(
        "first",
        description="first: run the first branch whose condition holds; all: run every "
        "branch whose condition holds, in order.",
    )


class PathsAction(BaseActionHandler):
    """The branches and their conditions are the step's own (`branches`, `otherwise`); the
    engine checks them (app.engine.run_if.choose_paths) and runs the chosen steps."""

    type = "paths"
    name = "Paths"
    description = "Split the run: each branch has a condition and its own steps."
    Config = PathsConfig
    pure = True

    def execute(self, context: StepContext, config: PathsConfig) -> dict[str, Any]:
        raise RuntimeError("a paths step is decided by the engine (run_if.choose_paths)")
