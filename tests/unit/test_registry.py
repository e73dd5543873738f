"""Registries refuse duplicates and stay unchanged; plugins come from entry points."""

from __future__ import annotations

import pytest

from app.actions import BUILTIN_ACTIONS
from app.actions.log import LogAction
from app.engine.errors import RegistryError, UnknownTypeError
from app.engine.registry import ActionRegistry, TriggerRegistry
from app.triggers import BUILTIN_TRIGGERS


def test_a_duplicate_type_is_refused_and_the_registry_is_unchanged() -> None:
    registry = ActionRegistry(BUILTIN_ACTIONS)
    before = registry.types()

    class Impostor(LogAction):
        pass

    with pytest.raises(RegistryError, match="'log' is already registered"):
        registry.register(Impostor)
    assert registry.types() == before
    assert type(registry.get("log")) is LogAction


def test_unknown_types_raise_a_named_error() -> None:
    with pytest.raises(UnknownTypeError, match="Unknown action type 'nope'"):
        ActionRegistry(BUILTIN_ACTIONS).get("nope")


def test_non_handlers_are_refused() -> None:
    with pytest.raises(RegistryError):
        ActionRegistry().register(dict)  # type: ignore[arg-type]
    with pytest.raises(RegistryError):
        TriggerRegistry().register(LogAction)  # type: ignore[arg-type]


def test_entry_point_plugins_load_after_builtins() -> None:
    # tests/plugins is on sys.path (tests/conftest.py): its dist-info declares the entry points
    registry = ActionRegistry(BUILTIN_ACTIONS)
    loaded = registry.load_entry_points()
    assert "shout" in loaded
    assert registry.types()[: len(BUILTIN_ACTIONS)] == [a.type for a in BUILTIN_ACTIONS]


def test_every_handler_is_documented_and_has_a_json_schema() -> None:
    registry = ActionRegistry(BUILTIN_ACTIONS)
    triggers = TriggerRegistry(BUILTIN_TRIGGERS)
    for handler in [*registry, *triggers]:
        assert handler.description and handler.name
        assert (type(handler).__doc__ or "").strip()
        assert handler.config_schema()["type"] == "object"
