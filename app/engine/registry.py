"""Registries of action and trigger handlers: built-ins, then entry-point plugins.

A registry refuses a second handler for a type and stays unchanged (like dramatiq's actor
registry); stored and queued work names handlers by `type`, so a type is forever.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from app.actions.base import BaseActionHandler
from app.engine.errors import RegistryError, UnknownTypeError
from app.triggers.base import BaseTriggerHandler

log = logging.getLogger(__name__)

H = TypeVar("H", BaseActionHandler, BaseTriggerHandler)


class Registry(Generic[H]):
    """Handlers by type, in registration order."""

    kind: str
    group: str
    base: type

    def __init__(self, handlers: Iterable[type[H]] = ()) -> None:
        self._handlers: dict[str, H] = {}
        for handler in handlers:
            self.register(handler)

    def register(self, handler_cls: type[H]) -> H:
        """Add a handler class; a duplicate or malformed handler is refused."""
        if not (isinstance(handler_cls, type) and issubclass(handler_cls, self.base)):
            raise RegistryError(f"{handler_cls!r} is not a {self.base.__name__} subclass")
        for attr in ("type", "name", "description", "Config"):
            if not getattr(handler_cls, attr, None):
                raise RegistryError(f"{handler_cls.__name__} has no {attr}")
        type_ = handler_cls.type
        if type_ in self._handlers:
            raise RegistryError(f"{self.kind} type {type_!r} is already registered")
        handler = handler_cls()
        self._handlers[type_] = handler
        return handler

    def load_entry_points(self) -> list[str]:
        """Register third-party handlers from the entry-point group; return their types.

        A broken or duplicate plugin is logged and skipped; it never takes the app down."""
        loaded = []
        for entry_point in entry_points(group=self.group):
            try:
                handler = self.register(entry_point.load())
            except Exception:
                log.exception("could not load %s plugin %s", self.kind, entry_point.value)
                continue
            loaded.append(handler.type)
        return loaded

    def get(self, type_: str) -> H:
        try:
            return self._handlers[type_]
        except KeyError:
            raise UnknownTypeError(self.kind, type_) from None

    def __contains__(self, type_: object) -> bool:
        return type_ in self._handlers

    def __iter__(self) -> Iterator[H]:
        return iter(self._handlers.values())

    def __len__(self) -> int:
        return len(self._handlers)

    def types(self) -> list[str]:
        return list(self._handlers)


class ActionRegistry(Registry[BaseActionHandler]):
    kind = "action"
    group = "stepline.actions"
    base = BaseActionHandler


class TriggerRegistry(Registry[BaseTriggerHandler]):
    kind = "trigger"
    group = "stepline.triggers"
    base = BaseTriggerHandler


@functools.cache
def actions() -> ActionRegistry:
    """The process's action registry: built-ins, then plugins."""
    from app.actions import BUILTIN_ACTIONS

    registry = ActionRegistry(BUILTIN_ACTIONS)
    registry.load_entry_points()
    return registry


@functools.cache
def triggers() -> TriggerRegistry:
    """The process's trigger registry: built-ins, then plugins."""
    from app.triggers import BUILTIN_TRIGGERS

    registry = TriggerRegistry(BUILTIN_TRIGGERS)
    registry.load_entry_points()
    return registry
