"""Webhook deliveries served straight from WSGI, in front of Flask's dispatch.

A delivery (`/hooks/<token>[/<subpath>]`) needs none of what Flask does around a view: no URL
map to build and match, no cookie session, no login or CSRF check, no rate-limit hooks of the
API or the login page. `DirectHooks` sits right around Flask's `wsgi_app` (inside ProxyFix and
SecureCookies, which have set the scheme, host and client address from the forwarded headers),
recognises a plain delivery path and serves it within an app context with the same logic as the
view (app/ingress/delivery.py): the same JSON answers and status codes, the headers every answer
carries (app.response_headers.HARDENING, HSTS when configured), refusals of the services in the
JSON error shape (as app.errors answers them, minus its rollback of Flask-SQLAlchemy's session,
which a delivery never uses: it has a session of its own). Any other exception (413 for a body
over the cap, the database down, an internal error) is handed to Flask's own error handlers in
a request context made from the same request, so that those answers, and their logging, are
Flask's. gunicorn writes the access line as for any request.

Everything else goes to Flask untouched: other paths, the test URL (/hooks/test/...), a method
no webhook route accepts, a path Flask's router would redirect or refuse (empty segments, a
trailing slash), and apps with TRUSTED_HOSTS set (Flask checks the host while routing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, Response
from flask.ctx import RequestContext
from flask.json.provider import DefaultJSONProvider
from werkzeug.http import HTTP_STATUS_CODES

from app.config import settings_of
from app.extensions import container, embedded_worker
from app.ingress import delivery
from app.ingress.views import METHODS
from app.proxy import Hsts
from app.response_headers import HARDENING
from app.services.errors import ServiceError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PREFIX = "/hooks/"
TEST_SEGMENT = "test"  # /hooks/test/<token>: the editor's test URL, Flask's
_METHODS = frozenset(METHODS)


def match(environ: WSGIEnvironment) -> tuple[str, str] | None:
    """(token, subpath) of a plain delivery path, or None for whatever Flask should route."""
    if environ.get("REQUEST_METHOD") not in _METHODS:
        return None
    # As werkzeug decodes it for routing: WSGI's latin-1 string holds the URL's UTF-8 bytes.
    path = (environ.get("PATH_INFO") or "").encode("latin-1").decode(errors="replace")
    if not path.startswith(PREFIX):
        return None
    segments = path[len(PREFIX) :].split("/")
    if "" in segments or (segments[0] == TEST_SEGMENT and len(segments) > 1):
        return None
    return segments[0], "/".join(segments[1:])


def status_line(status: int) -> str:
    """The WSGI status werkzeug writes: `202 ACCEPTED`."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'unknown').upper()}"


class DirectHooks:
    """WSGI middleware: plain webhook deliveries served here, everything else by `app`."""

    def __init__(self, flask: Flask, app: WSGIApplication) -> None:
        self.flask = flask
        self.app = app  # Flask's full dispatch
        self._setup: tuple[Callable[[], None] | None, Hsts | None] | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        found = match(environ)
        if found is None or self.flask.config["TRUSTED_HOSTS"] is not None:
            return self.app(environ, start_response)
        return self.serve(environ, start_response, *found)

    def _ready(self) -> tuple[Callable[[], None] | None, Hsts | None]:
        """The embedded worker's start (Flask's before-request hook for it) and the HSTS policy,
        read once the app is built."""
        if self._setup is None:
            settings = settings_of(self.flask)
            start = embedded_worker(self.flask).start if settings.embedded_worker else None
            self._setup = (start, Hsts.of(settings))
        return self._setup

    def serve(
        self, environ: WSGIEnvironment, start_response: StartResponse, token: str, subpath: str
    ) -> Iterable[bytes]:
        flask = self.flask
        start, hsts = self._ready()
        with flask.app_context():
            request = flask.request_class(environ)
            try:
                if start is not None:
                    start()
                try:
                    answer = delivery.deliver(container(flask), token, subpath, request)
                except ServiceError as exc:
                    answer = delivery.refusal(exc)
                body, content_type = self._encode(answer.body)
            except Exception as exc:
                return self._through_flask(environ, start_response, request, exc)
            finally:
                request.close()
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        headers.extend(answer.headers)
        common = HARDENING
        if hsts is not None and hsts.applies(request.scheme):
            common = ((Hsts.NAME, hsts.value), *HARDENING)  # the order the hooks add them in
        present = {name.lower() for name, _ in headers}
        headers.extend(h for h in common if h[0].lower() not in present)  # as setdefault does
        start_response(status_line(answer.status), headers)
        return [] if request.method == "HEAD" else [body]

    def _encode(self, body: Any) -> tuple[bytes, str]:
        """`body` as Flask's `jsonify` writes it (DefaultJSONProvider.response), and its
        content type."""
        provider = self.flask.json
        if not isinstance(provider, DefaultJSONProvider):
            response = cast(Response, provider.response(body))
            return response.get_data(), response.content_type or ""
        if (provider.compact is None and self.flask.debug) or provider.compact is False:
            text = provider.dumps(body, indent=2)
        else:
            text = provider.dumps(body, separators=(",", ":"))
        return f"{text}\n".encode(), provider.mimetype

    def _through_flask(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        request: Any,
        exc: Exception,
    ) -> Iterable[bytes]:
        """Answer `exc` as Flask's dispatch does (its error handlers, the after-request hooks),
        in a request context holding the request already read."""
        flask = self.flask
        ctx = RequestContext(flask, environ, request=request)
        error: BaseException | None = None
        ctx.push()  # routes the request: the ingress blueprint's handlers apply
        try:
            try:
                response = flask.finalize_request(flask.handle_user_exception(exc))
            except Exception as unhandled:
                error = unhandled
                response = flask.handle_exception(unhandled)
            return response(environ, start_response)
        finally:
            ctx.pop(error)
