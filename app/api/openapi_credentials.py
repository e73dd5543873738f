"""The credential kinds of this app in the OpenAPI document: the create body becomes one
variant per installed kind (`kind` a constant, `fields` that kind's JSON Schema), built from
the installed kinds (built-ins and plugins alike), as openapi_kinds.py does for steps."""

from __future__ import annotations

import copy
from typing import Any

from app.api.openapi_kinds import REF
from app.credentials.base import CredentialKind
from app.credentials.registry import installed_kinds

BODY = "CredentialCreate"


def _fields_schema(kind: CredentialKind, rules: str) -> dict[str, Any]:
    schema = copy.deepcopy(kind.form_schema())
    schema.pop("$defs", None)  # kinds' fields are flat (no nested models)
    schema.pop("title", None)
    schema["description"] = rules
    return schema


def describe_credential_kinds(definitions: dict[str, Any]) -> None:
    """Replace the create body's definition with one variant per kind (in place)."""
    body = definitions.get(BODY)
    if body is None:
        return
    rules = body["properties"]["fields"].get("description", "")
    refs = []
    for kind in sorted(installed_kinds(), key=lambda k: k.kind):
        name = f"{BODY}_{kind.kind}"
        variant = copy.deepcopy(body)
        variant["title"] = f"{BODY} ({kind.kind})"
        variant["properties"]["kind"] = {"const": kind.kind, "type": "string"}
        variant["properties"]["fields"] = _fields_schema(kind, rules)
        definitions[name] = variant
        refs.append({"$ref": REF.format(name=name)})
    definitions[BODY] = {
        "title": BODY,
        "description": body.get("description", ""),
        "oneOf": refs,
    }
