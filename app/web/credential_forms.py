"""A credential kind's form, built from its Pydantic model (as the editor builds a step's):
text, number, a select for a fixed set of values, a password input for a secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.credentials.base import CredentialKind
from app.services.workflows.validation_messages import label


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    input: str  # "text" | "number" | "password" | "select"
    required: bool
    description: str
    options: tuple[str, ...] = ()
    value: Any = None
    is_set: bool = False  # a secret that has a stored value (shown masked)
    error: str | None = None


def _plain_type(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of `X | None`."""
    for branch in schema.get("anyOf", []):
        if branch.get("type") != "null":
            return {**schema, **branch}
    return schema


def form_fields(
    kind: CredentialKind,
    values: dict[str, Any] | None = None,
    error_field: str | None = None,
    error: str | None = None,
) -> list[FormField]:
    """The kind's fields in declaration order, filled with `values` (secrets never: a secret
    shows whether it is set); `error` goes beside the field `fields.<name>` it names."""
    schema = kind.Fields.model_json_schema()
    required = set(schema.get("required", []))
    secret = kind.secret_fields()
    values = values or {}
    found = []
    for name, raw in schema.get("properties", {}).items():
        prop = _plain_type(raw)
        if name in secret:
            input_, value = "password", None
        elif "enum" in prop:
            input_, value = "select", values.get(name, prop.get("default"))
        elif prop.get("type") in ("integer", "number"):
            input_, value = "number", values.get(name, prop.get("default"))
        else:
            input_, value = "text", values.get(name, prop.get("default"))
        found.append(
            FormField(
                name=name,
                label=label(name),
                input=input_,
                required=name in required,
                description=str(prop.get("description") or ""),
                options=tuple(str(o) for o in prop.get("enum", ())),
                value=value,
                is_set=name in secret and bool(values.get(name)),
                error=error if error_field == f"fields.{name}" else None,
            )
        )
    return found
