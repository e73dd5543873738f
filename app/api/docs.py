"""The API's documentation: the OpenAPI document and a readable page rendered from it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, render_template
from markupsafe import Markup, escape

from app.api import auth, openapi
from app.api.blueprint import bp

SCHEMA_PREFIX = "#/components/schemas/"
RESPONSE_PREFIX = "#/components/responses/"


@dataclass
class FieldView:
    name: str
    type: str
    links: list[str]
    required: bool
    description: str


@dataclass
class SchemaView:
    name: str
    description: str
    fields: list[FieldView]
    source: str


@dataclass
class OperationView:
    id: str
    method: str
    path: str
    summary: str
    description: str
    public: bool
    parameters: list[dict[str, Any]]
    body: str | None
    body_required: bool = True
    responses: list[tuple[str, str, str | None]] = field(default_factory=list)


_INLINE_CODE = re.compile(r"`([^`]+)`")


def inline_code(text: str) -> Markup:
    """Escape `text`, then show its `backticked` spans as code (descriptions are Markdown-ish)."""
    return Markup(_INLINE_CODE.sub(r"<code>\1</code>", str(escape(text))))


def _ref_name(ref: str, prefix: str = SCHEMA_PREFIX) -> str:
    return ref.removeprefix(prefix)


def type_label(schema: dict[str, Any]) -> tuple[str, list[str]]:
    """A short readable type of a JSON Schema, and the schema names it links to."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return name, [name]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            labels, links = [], []
            for option in schema[key]:
                label, option_links = type_label(option)
                labels.append(label)
                links += option_links
            return " or ".join(labels), links
    kind = schema.get("type")
    if kind == "array":
        label, links = type_label(schema.get("items", {}))
        return f"array of {label}", links
    if isinstance(kind, list):
        return " or ".join(kind), []
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"]), []
    if "const" in schema:
        return json.dumps(schema["const"]), []
    label = kind or "any"
    if "format" in schema:
        label += f" ({schema['format']})"
    return label, []


def _schema_views(definitions: dict[str, Any]) -> list[SchemaView]:
    views = []
    for name, schema in definitions.items():
        required = set(schema.get("required", []))
        fields = []
        for prop, prop_schema in schema.get("properties", {}).items():
            label, links = type_label(prop_schema)
            fields.append(
                FieldView(prop, label, links, prop in required, prop_schema.get("description", ""))
            )
        views.append(
            SchemaView(name, schema.get("description", ""), fields, json.dumps(schema, indent=2))
        )
    return views


def _operation_views(document: dict[str, Any]) -> dict[str, list[OperationView]]:
    by_tag: dict[str, list[OperationView]] = {tag["name"]: [] for tag in document["tags"]}
    error_responses = document["components"]["responses"]
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            body = spec.get("requestBody", {}).get("content", {}).get("application/json")
            view = OperationView(
                id=spec["operationId"],
                method=method.upper(),
                path=path,
                summary=spec["summary"],
                description=spec.get("description", ""),
                public=spec.get("security") == [],
                parameters=[
                    {**p, "type": type_label(p.get("schema", {}))[0]}
                    for p in spec.get("parameters", [])
                ],
                body=_ref_name(body["schema"]["$ref"]) if body else None,
                body_required=bool(spec.get("requestBody", {}).get("required", False)),
            )
            for status, response in spec["responses"].items():
                if "$ref" in response:
                    response = error_responses[_ref_name(response["$ref"], RESPONSE_PREFIX)]
                content = response.get("content", {}).get("application/json")
                schema = _ref_name(content["schema"]["$ref"]) if content else None
                view.responses.append((status, response["description"], schema))
            for tag in spec["tags"]:
                by_tag.setdefault(tag, []).append(view)
    return by_tag


@bp.get("/openapi.json")
@auth.public
def openapi_show() -> Response:
    """The OpenAPI 3.1 document of this API."""
    # json.dumps keeps the models' field order (jsonify would sort keys).
    return current_app.response_class(
        json.dumps(openapi.document(current_app), indent=2), mimetype="application/json"
    )


@bp.get("/docs")
@auth.public
def docs_show() -> str:
    """The API reference as a page, rendered from the OpenAPI document."""
    document = openapi.document(current_app)
    return render_template(
        "api/docs.html",
        document=document,
        operations=_operation_views(document),
        schemas=_schema_views(document["components"]["schemas"]),
        inline_code=inline_code,
    )
