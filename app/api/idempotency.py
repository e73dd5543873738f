"""The `Idempotency-Key` header on POSTs that create something (a workflow, an execution).

A request with a key reserves it before the view runs; a 2xx answer is stored and replayed to
any retry with the same key within 24 hours (`Idempotent-Replayed: true`), so a script that
retries after a timeout never starts a second execution. Errors release the key. A view may
store its answer inside the transaction of its work (`answer_with`), as the trigger does: then a
failure after that commit (the broker down, say) still leaves the key answered, never free.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import ParamSpec

from flask import Response, current_app, g, request
from sqlalchemy.orm import Session

from app.api import auth
from app.api.errors import ApiError
from app.extensions import db
from app.services import idempotency
from app.services.idempotency import HEADER, Replay, Reservation

P = ParamSpec("P")
KEY = re.compile(r"[!-~]{1,255}")
REPLAYED = "Idempotent-Replayed"


def _key() -> str | None:
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not KEY.fullmatch(value):
        raise ApiError(
            400,
            "invalid_parameter",
            f"`{HEADER}` must be 1 to 255 visible ASCII characters, e.g. a UUID.",
            field=HEADER,
        )
    return value


def _replay(stored: Replay) -> Response:
    response = current_app.response_class(
        json.dumps(stored.body) if stored.body is not None else None,
        status=stored.status_code,
        mimetype="application/json",
    )
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers[REPLAYED] = "true"
    return response


def answer_with(session: Session, response: Response) -> None:
    """Store `response` as this request's answer in the session's open transaction (a view
    calls it just before the commit of its work), if the request holds a key."""
    held = g.get("idempotency_key")
    if isinstance(held, Reservation):
        body = response.get_json(silent=True) if response.data else None
        location = response.headers.get("Location")
        idempotency.stage(session, held, response.status_code, body, location)
        g.idempotency_answered = True


def idempotent(view: Callable[P, Response]) -> Callable[P, Response]:
    """Honour an Idempotency-Key header on `view` (a POST behind the token check)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        session = db.session()
        print_ = idempotency.fingerprint(request.method, request.path, request.get_data(cache=True))
        held = idempotency.reserve(session, auth.current_user().id, key, print_)
        if isinstance(held, Replay):
            return _replay(held)
        g.idempotency_key = held
        try:
            response = view(*args, **kwargs)
        except BaseException:
            idempotency.release(session, held)
            raise
        if g.get("idempotency_answered"):
            pass  # answered in the view's own transaction (answer_with)
        elif 200 <= response.status_code < 300:
            body = response.get_json(silent=True) if response.data else None
            location = response.headers.get("Location")
            idempotency.complete(session, held, response.status_code, body, location)
        else:
            idempotency.release(session, held)
        return response

    return wrapper
