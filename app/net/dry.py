"""Dry runs at the HTTP layer: the guarded client records the request it would send instead.

Inside `recording()` (the engine enters it around a step that sends, in a dry run), the first
request a `GuardedClient` prepares is not sent: the client raises `RequestNotSent` with the
request exactly as it would have gone out (method, final URL with its query, headers, body).
So every action's own code builds the real request, and nothing leaves the machine. No name
is resolved either: a dry run makes no network call at all; the policy still refuses
`localhost` names and non-public literal addresses, as a real run would.

`RequestNotSent` derives from BaseException, like the signals that end a task, so that an
action's own `except Exception` cannot swallow it and go on as if the request had been
answered; the engine catches it at the step boundary (app.engine.dry_run).

A client built with `sends_in_dry_runs=True` sends anyway: the OAuth token refresh, which
changes nothing a user sees and whose request carries credentials that must not be recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_recording: ContextVar[bool] = ContextVar("stepline_dry_run", default=False)


@dataclass(frozen=True)
class WouldSend:
    """A request as the guarded client would have sent it. `sensitive_headers` (lower-case)
    are the headers the caller marked as credentials, besides Authorization and Cookie."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    sensitive_headers: tuple[str, ...] = ()


class RequestNotSent(BaseException):
    """Raised by the guarded client, in a dry run, instead of sending `request`."""

    def __init__(self, request: WouldSend) -> None:
        super().__init__(f"dry run: {request.method} not sent")
        self.request = request


@contextmanager
def recording() -> Iterator[None]:
    """Within this block (this thread or task), guarded clients record instead of sending."""
    token = _recording.set(True)
    try:
        yield
    finally:
        _recording.reset(token)


def is_recording() -> bool:
    """Whether the current step runs dry (see `recording`)."""
    return _recording.get()
