"""The installed credential kinds: the built-ins, then entry-point plugins
(`stepline.credentials`), as for actions and triggers (app/engine/registry.py)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points

from app.credentials.base import CredentialKind
from app.credentials.http import HttpBasic, HttpBearer, HttpHeader, HttpQuery
from app.credentials.services import Discord, Notion, OpenAI, Slack, Smtp, Telegram

log = logging.getLogger(__name__)

GROUP = "stepline.credentials"
BUILTIN_KINDS: tuple[type[CredentialKind], ...] = (
    HttpHeader,
    HttpBearer,
    HttpBasic,
    HttpQuery,
    Slack,
    Smtp,
    Notion,
    Telegram,
    Discord,
    OpenAI,
)


class UnknownKindError(LookupError):
    """No credential kind of that name is installed."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"Unknown credential kind {kind!r}.")
        self.kind = kind


class KindRegistry:
    """Credential kinds by name, in registration order; a name is registered once."""

    def __init__(self, kinds: Iterable[type[CredentialKind]] = ()) -> None:
        self._kinds: dict[str, CredentialKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind_cls: type[CredentialKind]) -> CredentialKind:
        if not (isinstance(kind_cls, type) and issubclass(kind_cls, CredentialKind)):
            raise TypeError(f"{kind_cls!r} is not a CredentialKind subclass")
        for attr in ("kind", "name", "description", "Fields"):
            if not getattr(kind_cls, attr, None):
                raise TypeError(f"{kind_cls.__name__} has no {attr}")
        if len(kind_cls.kind) > 32:
            raise TypeError(f"credential kind {kind_cls.kind!r} is longer than 32 characters")
        if kind_cls.kind in self._kinds:
            raise TypeError(f"credential kind {kind_cls.kind!r} is already registered")
        kind = kind_cls()
        self._kinds[kind_cls.kind] = kind
        return kind

    def load_entry_points(self) -> list[str]:
        """Register plugin kinds; a broken or duplicate one is logged and skipped."""
        loaded = []
        for entry_point in entry_points(group=GROUP):
            try:
                kind = self.register(entry_point.load())
            except Exception:
                log.exception("could not load credential kind plugin %s", entry_point.value)
                continue
            loaded.append(kind.kind)
        return loaded

    def get(self, kind: str) -> CredentialKind:
        try:
            return self._kinds[kind]
        except KeyError:
            raise UnknownKindError(kind) from None

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds

    def __iter__(self) -> Iterator[CredentialKind]:
        return iter(self._kinds.values())

    def names(self) -> list[str]:
        return list(self._kinds)


@functools.cache
def installed_kinds() -> KindRegistry:
    """The process's kinds: built-ins and plugins (read once; kinds hold no state)."""
    registry = KindRegistry(BUILTIN_KINDS)
    registry.load_entry_points()
    return registry
