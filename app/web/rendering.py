"""One place that decides between a full page and an htmx fragment (STYLE E4).

htmx's request headers are read through flask-htmx's `htmx` object; its response headers
(HX-Redirect, HX-Trigger, HX-Retarget…) are set with `htmx_response`, flask-htmx's
`make_response`, which also takes a response already made and adds the headers to it.
"""

from __future__ import annotations

from typing import Any

from flask import Response, after_this_request, make_response, render_template
from flask_htmx import make_response as htmx_response

from app.extensions import htmx

__all__ = ["htmx_response", "is_fragment_request", "redirect_htmx", "render"]


def _vary_on_htmx(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response


def is_fragment_request() -> bool:
    """htmx asked for a fragment (and is not restoring history, which needs the page). The
    answer depends on it, so it varies on HX-Request (for caches), whatever it turns out to be."""
    after_this_request(_vary_on_htmx)
    return bool(htmx) and not htmx.history_restore_request


def render(page: str, fragment: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render `fragment` for htmx requests and `page` otherwise; responses vary on HX-Request."""
    template = fragment if fragment and is_fragment_request() else page
    return _vary_on_htmx(make_response(render_template(template, **context), status))


def redirect_htmx(target: str, status: int = 200) -> Response:
    """An htmx answer that makes the browser load `target` (a full page, not a swap)."""
    return htmx_response("", status, redirect=target)
