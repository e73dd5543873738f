"""Request bodies: JSON only, parsed strictly, validated by a Pydantic model.

Not JSON → 415; malformed or deeply nested JSON → 400; too large → 413 (MAX_CONTENT_LENGTH);
valid JSON the model refuses → 422 naming the field. A value no database stores (NaN,
±Infinity, a number beyond a float's range such as 1e400, text with U+0000 or an unpaired
surrogate such as "\\ud800") → 400 naming its path, as webhooks do (app.models.storable).
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from app.api.errors import ApiError, validation_message
from app.models import storable

M = TypeVar("M", bound=BaseModel)

# Deeper documents are refused before any validation walks them.
MAX_DEPTH = 64


def _depth(document: Any) -> int:
    """Nesting depth of a parsed JSON document, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


def is_json_request() -> bool:
    mimetype = request.mimetype
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def json_body() -> Any:
    """The request's JSON document, or an ApiError (415, 400) saying what is wrong with it."""
    if not is_json_request():
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the body as JSON with the header `Content-Type: application/json`.",
        )
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:  # past MAX_CONTENT_LENGTH
        raise ApiError(413, "payload_too_large", "The request body is too large.") from None
    if not raw.strip():
        raise ApiError(400, "invalid_json", "The body is empty; send a JSON document.")
    try:
        document = storable.loads(raw)
    except storable.UnstorableError as exc:
        found = exc.found
        raise ApiError(400, "invalid_json", found.sentence(), found.path or None) from None
    except RecursionError:
        document = None
        depth = MAX_DEPTH + 1
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
    else:
        depth = _depth(document)
    if depth > MAX_DEPTH:
        raise ApiError(
            400, "invalid_json", f"The JSON document is nested deeper than {MAX_DEPTH} levels."
        )
    return document


def has_body() -> bool:
    """True when the request carries a body (even one of blanks, which json_body refuses)."""
    return bool(request.get_data(cache=True))


def parse_optional_body(model: type[M]) -> M:
    """Like parse_body, but a request without a body gets the model's defaults."""
    try:
        present = has_body()
    except RequestEntityTooLarge:
        raise ApiError(413, "payload_too_large", "The request body is too large.") from None
    return parse_body(model) if present else model.model_validate({})


def parse_body(model: type[M]) -> M:
    """The request body validated by `model`; a ValidationError becomes 422 naming the field."""
    document = json_body()
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        message, field = validation_message(exc)
        raise ApiError(422, "validation_error", message, field) from None
