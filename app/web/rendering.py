"""One place that decides between a full page and an htmx fragment."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request


def is_fragment_request() -> bool:
    """htmx asked for a fragment (and is not restoring history, which needs the page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def render(page: str, fragment: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render `fragment` for htmx requests and `page` otherwise; responses vary on HX-Request."""
    template = fragment if fragment and is_fragment_request() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
