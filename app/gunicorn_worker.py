"""gunicorn's worker, answering what it refuses itself in the API's JSON error shape.

A request line past `limit_request_line` (414), headers past `limit_request_field_size` or
`limit_request_fields` (431) and malformed requests (400) never reach Flask: gunicorn answers
them with a small HTML page of its own. This worker writes `{"error": {"code", "message"}}`
instead, so that a script sees one error shape at every layer; whatever else gunicorn fails at
is a 500 in the same shape, never its text.
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

# (status, reason, code, message) by what gunicorn raised; anything else malformed is a 400.
REFUSALS: list[tuple[type[Exception], int, str, str, str]] = [
    (
        errors.LimitRequestHeaders,
        431,
        "Request Header Fields Too Large",
        "headers_too_large",
        "The request's headers are too large or too many.",
    ),
    (errors.ForbiddenProxyRequest, 403, "Forbidden", "forbidden", "Request forbidden."),
    (
        errors.UnsupportedTransferCoding,
        501,
        "Not Implemented",
        "not_implemented",
        "This Transfer-Encoding is not supported.",
    ),
    (
        errors.ExpectationFailed,
        417,
        "Expectation Failed",
        "expectation_failed",
        "Only `Expect: 100-continue` is supported.",
    ),
]
CLIENT_ERRORS: tuple[type[Exception], ...] = (
    errors.ParseException,
    errors.NoMoreData,
)


# Ours, not the client's: a header the application tried to send, gunicorn's configuration.
INTERNAL: tuple[type[Exception], ...] = (
    errors.InvalidResponseHeader,
    errors.InvalidResponseHeaderName,
    errors.ConfigurationProblem,
)


def answer_for(exc: BaseException) -> tuple[int, str, str, str]:
    """The status, reason phrase, code and message that answer `exc`."""
    if isinstance(exc, INTERNAL):
        return 500, "Internal Server Error", "internal_error", "Something went wrong on our side."
    if isinstance(exc, errors.LimitRequestLine):  # say the limit gunicorn applied
        limit = f" (at most {exc.max_size} bytes with the method)" if exc.max_size else ""
        return 414, "URI Too Long", "uri_too_long", f"The URL is too long{limit}."
    for kind, status, reason, code, message in REFUSALS:
        if isinstance(exc, kind):
            return status, reason, code, message
    if isinstance(exc, CLIENT_ERRORS):
        return 400, "Bad Request", "bad_request", "The request is malformed."
    return 500, "Internal Server Error", "internal_error", "Something went wrong on our side."


def json_error_response(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker (what `threads > 1` selects) with JSON error answers."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, reason, code, message = answer_for(exc)
        ip = addr[0] if addr else ""
        if status == 500:
            self.log.exception("Error handling request")
        else:
            self.log.warning("Invalid request from ip=%s: %s", ip, exc)
        try:
            util.write_nonblock(client, json_error_response(status, reason, code, message))
        except Exception:  # the client may be gone: nothing more to tell it
            self.log.debug("Failed to send error message.")
