"""Loop: run the steps inside once for each item of a list (app.engine.program runs them)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.engine.errors import ActionError, ConfigError

DEFAULT_MAX_ITEMS = 1000


class LoopConfig(ActionConfig):
    items: Any = Field(
        description="A template giving the list to go through, e.g. {{ trigger.body.items }}; "
        "inside the loop, {{ loop.item }} is the current item."
    )
    max_items: int = Field(
        DEFAULT_MAX_ITEMS,
        ge=1,
        description="The step fails, naming the count, when the list has more items than this "
        "(at most STEPLINE_MAX_LOOP_ITEMS).",
    )


class LoopAction(BaseActionHandler):
    """Checks the list; the engine then runs the steps inside once per item, in order."""

    type = "loop"
    name = "Loop"
    description = "Run the steps inside once for each item of a list, in order."
    Config = LoopConfig
    pure = True

    def execute(self, context: StepContext, config: LoopConfig) -> dict[str, Any]:
        items = config.items
        if not isinstance(items, list):
            raise ConfigError(
                f"config.items: a loop goes through a list, and this gave {_kind(items)}."
            )
        cap = min(config.max_items, context.settings.max_loop_items)
        if len(items) > cap:
            raise ActionError(
                f"The list has {len(items):,} items, over this loop's cap of {cap:,}.",
                retryable=False,
            )
        # Once every iteration ended, `items` holds each iteration's last output.
        return {"count": len(items), "items": []}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return "text" if value else "empty text"
    return {dict: "an object", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
