"""Deployments behind a TLS-terminating reverse proxy: forwarded headers, Secure cookies, HSTS,
and the public address external URLs are built on.

- STEPLINE_PROXY_HOPS > 0: werkzeug's ProxyFix trusts that many proxies' `X-Forwarded-For`,
  `-Proto`, `-Host`, `-Port` and `-Prefix`, so a request that reached the proxy over https is
  https here (`request.is_secure`, `url_for(_external=True)`).
- Cookies are Secure always (SESSION_COOKIE_SECURE, or an https STEPLINE_PUBLIC_URL), never
  (SESSION_COOKIE_SECURE=false), or on requests that arrived over https. The WSGI layer marks
  them: Flask writes the session cookie after every `after_request` hook, so only there is
  every cookie (session, remember-me, any other) seen.
- STEPLINE_HSTS_SECONDS > 0: `Strict-Transport-Security` on https answers.
- `external_url(endpoint, **values)`: an absolute URL on STEPLINE_PUBLIC_URL when it is set,
  else on the request's own (forwarded) address. Every URL shown to be used from outside
  (webhook URLs, the OAuth callback, the API's base) is built with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import MapAdapter

from app.config import settings_of
from app.setting_values import cookies_secure
from app.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ADAPTER = "stepline.public_urls"


class SecureCookies:
    """WSGI middleware: every `Set-Cookie` of an answer gets the `Secure` attribute, on every
    request (`always`) or on those that arrived over https."""

    def __init__(self, app: WSGIApplication, *, always: bool) -> None:
        self.app = app
        self.always = always

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not (self.always or environ.get("wsgi.url_scheme") == "https"):
            return self.app(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            marked = [
                (name, secure(value) if name.lower() == "set-cookie" else value)
                for name, value in headers
            ]
            return start_response(status, marked, exc_info)

        return self.app(environ, start)


def secure(cookie: str) -> str:
    """A `Set-Cookie` value with the Secure attribute (added once)."""
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    return cookie if "secure" in attributes else f"{cookie}; Secure"


class Hsts:
    """The `Strict-Transport-Security` header of STEPLINE_HSTS_SECONDS: on https answers, or on
    every answer when the public address is https (browsers ignore it on plain http, so an
    https public address is enough)."""

    NAME = "Strict-Transport-Security"

    def __init__(self, settings: Settings) -> None:
        self.value = f"max-age={settings.hsts_seconds}"
        self.always = (settings.public_url or "").startswith("https://")

    @classmethod
    def of(cls, settings: Settings) -> Hsts | None:
        """The header's policy, or None when STEPLINE_HSTS_SECONDS is 0."""
        return cls(settings) if settings.hsts_seconds else None

    def applies(self, scheme: str) -> bool:
        """Whether an answer to a request that arrived over `scheme` carries the header."""
        return self.always or scheme in SECURE_SCHEMES


SECURE_SCHEMES = frozenset({"https", "wss"})  # werkzeug's `request.is_secure`


def _hsts(hsts: Hsts) -> Callable[[Response], Response]:
    def add(response: Response) -> Response:
        if hsts.applies(request.scheme):
            response.headers.setdefault(Hsts.NAME, hsts.value)
        return response

    return add


def _adapter(app: Flask, public_url: str) -> MapAdapter:
    adapter: MapAdapter | None = app.extensions.get(ADAPTER)
    if adapter is None:
        parts = urlsplit(public_url)
        adapter = app.url_map.bind(parts.netloc, parts.path or "/", url_scheme=parts.scheme)
        app.extensions[ADAPTER] = adapter
    return adapter


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of `endpoint` as people and senders outside reach it."""
    public_url = settings_of(current_app).public_url
    if public_url is None:
        return url_for(endpoint, _external=True, **values)
    return _adapter(current_app, public_url).build(endpoint, values, force_external=True)


def public_root() -> str:
    """The app's root as reached from outside, without a trailing slash."""
    public_url = settings_of(current_app).public_url
    return public_url if public_url is not None else request.url_root.rstrip("/")


def init_app(app: Flask, settings: Settings) -> None:
    # SecureCookies inside ProxyFix: it reads the scheme ProxyFix has set from the headers.
    secure = cookies_secure(settings)
    if secure is not False:
        app.wsgi_app = SecureCookies(app.wsgi_app, always=bool(secure))  # type: ignore[method-assign]
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    hsts = Hsts.of(settings)
    if hsts is not None:
        app.after_request(_hsts(hsts))
    app.add_template_global(public_root)
