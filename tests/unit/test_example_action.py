"""The built-in `example` action (docs/plugins.md walks through it): counts, excerpt, failure."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.actions.example import ExampleAction, ExampleConfig
from app.config import build
from app.engine.errors import ActionError
from app.engine.registry import ActionRegistry
from tests.fakes.context import make_step_context

SETTINGS = build({"SECRET_KEYS": Fernet.generate_key().decode()})


def run(**config: object) -> dict[str, object]:
    handler = ExampleAction()
    return handler.execute(make_step_context(SETTINGS), ExampleConfig.model_validate(config))


def test_counts_characters_words_and_lines() -> None:
    output = run(text="one two\nthree  four\n")

    assert output == {"characters": 20, "words": 4, "lines": 2, "excerpt": "one two three four"}


def test_the_excerpt_keeps_the_first_words_and_marks_the_cut() -> None:
    assert run(text="a b c d e", excerpt_words=3)["excerpt"] == "a b c …"
    assert run(text="a b c", excerpt_words=3)["excerpt"] == "a b c"
    assert run(text="the quick fox", case="title")["excerpt"] == "The Quick Fox"
    assert run(text="", excerpt_words=5) == {
        "characters": 0,
        "words": 0,
        "lines": 0,
        "excerpt": "",
    }


def test_a_missing_required_text_fails_without_retry() -> None:
    with pytest.raises(ActionError, match="does not contain 'urgent'") as failure:
        run(text="a routine note", require="urgent")
    assert failure.value.retryable is False
    assert run(text="an urgent note", require="urgent")["words"] == 3


def test_the_config_model_refuses_bad_values_and_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ExampleConfig.model_validate({"text": "x", "excerpt_words": 0})
    with pytest.raises(ValidationError):
        ExampleConfig.model_validate({"text": "x", "case": "shout"})
    with pytest.raises(ValidationError):
        ExampleConfig.model_validate({"text": "x", "colour": "red"})


def test_it_ships_as_a_built_in_with_help_on_every_field() -> None:
    from app.actions import BUILTIN_ACTIONS

    registry = ActionRegistry(BUILTIN_ACTIONS)
    handler = registry.get("example")
    schema = handler.config_schema()
    assert schema["required"] == ["text"]
    assert all(field.get("description") for field in schema["properties"].values())
    assert handler.pure and not handler.sends
