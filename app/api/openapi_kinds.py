"""The action and trigger kinds of this app in the OpenAPI document.

A step's or trigger's `config` is validated by its kind's config model, so the document says so:
StepSpec and TriggerSpec become one variant per kind (`type` a constant, `config` that kind's
JSON Schema), and `type` fields and the `trigger_type` parameter list the kinds. Built-ins and
plugins alike: the document is built from the app's registries.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from app.engine.registry import Registry
from app.services.workflows.flow_rules import LOOP, PATHS
from app.services.workflows.specs import CONTAINER_FIELDS

REF = "#/components/schemas/{name}"


def _config_schema(handler: Any, prefix: str, definitions: dict[str, Any]) -> dict[str, Any]:
    """The kind's config schema, its own $defs moved into the components under `prefix`."""
    schema = copy.deepcopy(handler.config_schema())
    local = schema.pop("$defs", {})
    renamed = {name: f"{prefix}{name}" for name in local}
    text = json.dumps(schema)
    for name, new in renamed.items():
        text = text.replace(f'"#/$defs/{name}"', f'"{REF.format(name=new)}"')
    for name, definition in local.items():
        moved = json.dumps(definition)
        for old, new in renamed.items():
            moved = moved.replace(f'"#/$defs/{old}"', f'"{REF.format(name=new)}"')
        definitions[renamed[name]] = json.loads(moved)
    return dict(json.loads(text))


def _keep_lists(variant: dict[str, Any], type_: str, required: set[str]) -> None:
    """Only a loop holds `steps`, only a paths step `branches` (required) and `otherwise`."""
    held = {LOOP: ("steps",), PATHS: ("branches", "otherwise")}.get(type_, ())
    for name in CONTAINER_FIELDS:
        if name not in held:
            variant["properties"].pop(name, None)
    if type_ == PATHS and "branches" in variant["properties"]:
        required.add("branches")
        branches = variant["properties"]["branches"]
        variant["properties"]["branches"] = next(
            (option for option in branches.get("anyOf", []) if option.get("type") == "array"),
            branches,
        )
        variant["properties"]["branches"]["description"] = branches.get("description", "")


def _variants(
    base: str, registry: Registry[Any], definitions: dict[str, Any], optional_type: str | None
) -> None:
    """Replace definitions[base] with one variant per kind of `registry`."""
    spec = definitions[base]
    mapping: dict[str, str] = {}
    for handler in sorted(registry, key=lambda h: h.type):
        name = f"{base}_{handler.type.replace('.', '_')}"
        variant = copy.deepcopy(spec)
        variant["title"] = f"{base} ({handler.type})"
        variant["properties"]["type"] = {"const": handler.type, "type": "string"}
        config = _config_schema(handler, f"{name}_", definitions)
        rules = spec["properties"]["config"].get("description", "")
        config["description"] = f"{config.get('description', '')} {rules}".strip()
        variant["properties"]["config"] = config
        required = set(variant.get("required", []))
        _keep_lists(variant, handler.type, required)
        if handler.type != optional_type:  # the default kind may leave `type` out
            required.add("type")
        if variant["properties"]["config"].get("required"):  # `{}`, the default, lacks them
            required.add("config")
        variant["required"] = sorted(required)
        definitions[name] = variant
        mapping[handler.type] = REF.format(name=name)
    definitions[base] = {
        "title": base,
        "description": spec.get("description", ""),
        "oneOf": [{"$ref": ref} for ref in mapping.values()],
    }


def one_per_model(
    refs: dict[Any, Any], definitions: dict[str, Any]
) -> tuple[dict[Any, Any], dict[str, Any]]:
    """One schema per model where its request and response schemas are the same.

    Pydantic names a recursive model (a step holding steps) `X-Input` and `X-Output` even when
    both say the same, since each refers to its own name; they are merged back into `X` when
    they agree once those names are."""
    pairs = {
        name.removesuffix("-Input")
        for name in definitions
        if name.endswith("-Input") and f"{name.removesuffix('-Input')}-Output" in definitions
    }

    def merged(text: str, names: set[str]) -> str:
        for name in names:
            for suffix in ("-Input", "-Output"):
                text = text.replace(
                    f'"{REF.format(name=name + suffix)}"', f'"{REF.format(name=name)}"'
                )
        return text

    while True:
        same = {
            name
            for name in pairs
            if merged(json.dumps(definitions[f"{name}-Input"], sort_keys=True), pairs)
            == merged(json.dumps(definitions[f"{name}-Output"], sort_keys=True), pairs)
        }
        if same == pairs:
            break
        pairs = same
    kept = {f"{name}-Input": name for name in pairs}
    definitions = {
        kept.get(name, name): schema
        for name, schema in definitions.items()
        if name.removesuffix("-Output") not in pairs
    }
    fixed = json.loads(merged(json.dumps(definitions), pairs))
    return {k: json.loads(merged(json.dumps(v), pairs)) for k, v in refs.items()}, fixed


def describe_kinds(
    definitions: dict[str, Any],
    parameters: list[dict[str, Any]],
    actions: Registry[Any],
    triggers: Registry[Any],
) -> None:
    """Write the app's kinds into the document's definitions and parameters (in place)."""
    if "StepSpec" in definitions:
        _variants("StepSpec", actions, definitions, None)
    if "TriggerSpec" in definitions:
        _variants("TriggerSpec", triggers, definitions, "manual")
    for parameter in parameters:
        if parameter["name"] == "trigger_type":
            parameter["schema"] = {**parameter["schema"], "enum": triggers.types()}
