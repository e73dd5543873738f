"""Example action: measure a text and cut an excerpt of it.

The smallest complete action, and the one docs/plugins.md walks through: a config model whose
fields become the editor's form, the API's validation and the OpenAPI schema; an `execute` that
reads only its arguments and returns a JSON-able dict; a failure raised as an ActionError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.engine.errors import ActionError

CASES: dict[str, Callable[[str], str]] = {
    "unchanged": str,
    "upper": str.upper,
    "lower": str.lower,
    "title": str.title,
}


class ExampleConfig(ActionConfig):
    text: str = Field(
        max_length=100_000,
        description="The text to measure; may use templates, e.g. {{ trigger.body }}.",
    )
    excerpt_words: int = Field(
        20, ge=1, le=1000, description="Words kept in the excerpt (an ellipsis marks a cut)."
    )
    case: Literal["unchanged", "upper", "lower", "title"] = Field(
        "unchanged", description="Letter case of the excerpt."
    )
    require: str = Field(
        "",
        max_length=1000,
        description="When set, the step fails (without retry) if the text does not contain it.",
    )


class ExampleAction(BaseActionHandler):
    """Count a text's characters, words and lines and cut an excerpt of its first words."""

    type = "example"
    category = "Developer"
    name = "Example: text summary"
    description = (
        "Count a text's characters, words and lines and cut an excerpt of its first words "
        "(the action docs/plugins.md walks through)."
    )
    Config = ExampleConfig
    # The output depends on the rendered config alone: the engine may run it back to back with
    # the steps around it (see BaseActionHandler.pure).
    pure = True

    def execute(self, context: StepContext, config: ExampleConfig) -> dict[str, Any]:
        if config.require and config.require not in config.text:
            # Not retryable: the same text fails the same way on every attempt.
            raise ActionError(f"the text does not contain {config.require!r}", retryable=False)
        words = config.text.split()
        excerpt = " ".join(words[: config.excerpt_words])
        if len(words) > config.excerpt_words:
            excerpt += " …"
        return {
            "characters": len(config.text),
            "words": len(words),
            "lines": len(config.text.splitlines()),
            "excerpt": CASES[config.case](excerpt),
        }
