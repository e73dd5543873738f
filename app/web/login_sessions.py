"""Logged-in sessions with an identity (services.accounts.sessions), seen from the web.

At login the signed cookie gets the id of a new `user_sessions` row and its token. Before any
other work of a request (CSRF included) `check_session` resolves them with one primary-key
lookup; a session that was ended, or a cookie without a session, is emptied at once. That
also drops the CSRF secret the cookie held, so CSRF tokens end with their session.

The webhook path (app/sessions.py: sessionless), static files, the API (bearer tokens), and ops
probes never look at the cookie and cost nothing here.
"""

from __future__ import annotations

from flask import Flask, g, request, session
from flask_login import login_user, logout_user

from app.extensions import db, login
from app.models import User
from app.services.accounts import sessions
from app.sessions import SESSIONLESS_PREFIX

SESSION_ID = "_sid"
SESSION_TOKEN = "_stok"
LOGIN_USER_ID = "_user_id"  # Flask-Login's key
UNCHECKED_BLUEPRINTS = frozenset({"api", "hooks", "ops"})
_RESOLVED = "stepline_session_user"


def begin(user: User) -> None:
    """Log `user` in with a new session: nothing from the anonymous session carries over."""
    session.clear()
    started = sessions.start(
        db.session(),
        user,
        user_agent=request.user_agent.string or "",
        ip=request.remote_addr or "",
    )
    login_user(user)
    session[SESSION_ID] = started.session_id
    session[SESSION_TOKEN] = started.token


def current_session_id() -> int | None:
    found = session.get(SESSION_ID)
    return found if isinstance(found, int) else None


def finish() -> None:
    """Log out: end this session's row, then empty the cookie."""
    session_id = current_session_id()
    if session_id is not None:
        sessions.end(db.session(), session_id)
    logout_user()
    session.clear()


def check_session() -> None:
    """Empty the cookie unless it names a live session of the user it says (see above)."""
    if request.path.startswith(SESSIONLESS_PREFIX) or request.endpoint == "static":
        return
    if request.blueprint in UNCHECKED_BLUEPRINTS:
        return
    if LOGIN_USER_ID not in session and SESSION_ID not in session:
        return
    user = sessions.resolve(db.session(), session.get(SESSION_ID), session.get(SESSION_TOKEN))
    if user is None or str(user.id) != session.get(LOGIN_USER_ID):
        session.clear()
        return
    setattr(g, _RESOLVED, user)


@login.user_loader
def _load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user `check_session` resolved, never a second lookup."""
    user: User | None = g.get(_RESOLVED)
    return user if user is not None and str(user.id) == user_id else None


def init_app(app: Flask) -> None:
    """Check the session first, before CSRF protection and every other hook."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_session)
