"""Field markers shared by action configs and credential kinds.

`secret_field`: a value stored encrypted, shown masked, redacted from stored inputs.
`credential_field`: an action config field holding the id of one of the user's credentials of
the given kinds; its JSON schema carries `credential_kinds`, so the editor shows a select of
them and the save check refuses another user's credential or one of another kind.
`workflow_field`: an action config field holding the id of one of the user's workflows (the
`run_workflow` step); its JSON schema carries `workflow_ref: true`, so the editor shows a
select of them and the save check refuses another user's workflow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field


def secret_field(**kwargs: Any) -> Any:
    """A config field stored encrypted, shown masked, redacted from stored inputs."""
    extra = kwargs.pop("json_schema_extra", {}) or {}
    return Field(json_schema_extra={**extra, "secret": True, "writeOnly": True}, **kwargs)


def credential_field(
    *, kinds: Iterable[str], description: str = "A saved credential.", **kwargs: Any
) -> Any:
    """A config field naming one of the user's credentials of `kinds` by id (None: none)."""
    extra = kwargs.pop("json_schema_extra", {}) or {}
    kwargs.setdefault("default", None)
    kwargs.setdefault("title", "Credential")
    return Field(
        description=description,
        json_schema_extra={**extra, "credential_kinds": list(kinds)},
        **kwargs,
    )


def workflow_field(*, description: str = "One of your workflows.", **kwargs: Any) -> Any:
    """A config field naming one of the user's workflows by id."""
    extra = kwargs.pop("json_schema_extra", {}) or {}
    kwargs.setdefault("title", "Workflow")
    return Field(
        description=description, json_schema_extra={**extra, "workflow_ref": True}, **kwargs
    )


def is_workflow_ref(schema_or_extra: Any) -> bool:
    """Whether a field's JSON schema (or `json_schema_extra`) marks it with `workflow_field`."""
    return isinstance(schema_or_extra, dict) and schema_or_extra.get("workflow_ref") is True


def workflow_fields(model: type[BaseModel]) -> list[str]:
    """The names of the fields of `model` declared with `workflow_field`."""
    return [
        name for name, info in model.model_fields.items() if is_workflow_ref(info.json_schema_extra)
    ]


def credential_kinds_of(schema_or_extra: Any) -> tuple[str, ...]:
    """The kinds a field accepts, from its JSON schema (or `json_schema_extra`); () if none."""
    if isinstance(schema_or_extra, dict):
        kinds = schema_or_extra.get("credential_kinds")
        if isinstance(kinds, list):
            return tuple(str(k) for k in kinds)
    return ()


def credential_fields(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """The fields of `model` declared with `credential_field`, with the kinds each accepts."""
    found = {}
    for name, info in model.model_fields.items():
        kinds = credential_kinds_of(info.json_schema_extra)
        if kinds:
            found[name] = kinds
    return found


def is_secret(info: Any) -> bool:
    """Whether a pydantic FieldInfo was declared with `secret_field`."""
    extra = getattr(info, "json_schema_extra", None)
    return isinstance(extra, dict) and bool(extra.get("secret"))
