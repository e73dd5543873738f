"""Flask's signed-cookie sessions, minus the work where no session can exist.

A webhook delivery (/hooks/...) is authenticated by its URL and signature, a resume URL
(/resume/...: a call to a waiting step, the approval page) by its URL alone, never by a cookie:
they get an empty session that is never saved, so the cookie is neither parsed nor written
there (an error page rendered there may still read and set it, to no effect).
"""

from __future__ import annotations

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

# Webhooks, and the resume URLs of waiting steps (a call, the approval page): the URL is the
# credential there, whoever's browser opens it.
SESSIONLESS_PREFIX = ("/hooks/", "/resume/")


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
