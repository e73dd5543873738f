"""Registries of action and trigger handlers: built-ins, then entry-point plugins.

A registry refuses a second handler for a type and stays unchanged (like dramatiq's actor
registry); stored and queued work names handlers by `type`, so a type is forever. The engine
owns no registry: the composition root (app.container) builds them from the built-ins that
`app.actions` and `app.triggers` list, and passes them to whoever needs them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Generic, Self, TypeVar

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
        if getattr(handler_cls, "dry_run", "skip") not in ("record", "skip"):
            raise RegistryError(f"{handler_cls.__name__}.dry_run must be 'record' or 'skip'")
        type_ = handler_cls.type
        if type_ in self._handlers:
            raise RegistryError(f"{self.kind} type {type_!r} is already registered")
        handler = handler_cls()
        self._handlers[type_] = handler
        return handler

    @classmethod
    def with_plugins(cls, builtins: Iterable[type[H]]) -> Self:
        """A registry of `builtins`, then of the plugins installed through entry points."""
        registry = cls(builtins)
        registry.load_entry_points()
        return registry

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


@dataclass(frozen=True)
class Handlers:
    """The installed action and trigger handlers (one pair per composition root), and the
    operator's limit a definition's loops are checked against (STEPLINE_MAX_LOOP_ITEMS)."""

    actions: ActionRegistry
    triggers: TriggerRegistry
    max_loop_items: int = 10_000
