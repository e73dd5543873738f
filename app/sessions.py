"""Flask's signed-cookie sessions, minus the work where no session can exist.

A webhook delivery (/hooks/...) is authenticated by its URL and signature, never by a cookie:
it gets an empty session that is never saved, so the cookie is neither parsed nor written on
that hot path (an error page rendered there may still read and set it, to no effect).
"""

from __future__ import annotations

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

SESSIONLESS_PREFIX = "/hooks/"


class SessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(SESSIONLESS_PREFIX):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.path.startswith(SESSIONLESS_PREFIX):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
