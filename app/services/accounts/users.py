"""Registering users and checking their credentials."""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.models import User
from app.models.users import PASSWORD_HASH_METHOD
from app.services.accounts import sessions
from app.services.accounts.passwords import MIN_PASSWORD_LENGTH, password_problem

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AccountError",
    "authenticate",
    "change_password",
    "find_by_email",
    "normalize_email",
    "register",
]


class AccountError(Exception):
    """A registration or login was refused; `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(f"That email address is not valid: {exc}", field="email") from None


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def register(
    session: Session,
    *,
    email: str,
    password: str,
    name: str = "",
    hash_method: str = PASSWORD_HASH_METHOD,
) -> User:
    """Create a user with a scrypt password hash (`hash_method`, werkzeug's notation); refuses
    a taken email or a password that is short or easy to guess (passwords.py)."""
    email = normalize_email(email)
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise AccountError(problem, field="password")
    if find_by_email(session, email) is not None:
        raise AccountError("An account with this email already exists.", field="email")
    user = User(email=email, name=name.strip())
    user.set_password(password, hash_method)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # registered concurrently between the check and the insert
        session.rollback()
        raise AccountError("An account with this email already exists.", field="email") from None
    return user


@lru_cache(maxsize=4)
def _decoy_hash(hash_method: str) -> str:
    """A hash of nothing anyone types, checked when no account has the email (below)."""
    return generate_password_hash("stepline decoy password", method=hash_method)


def authenticate(
    session: Session, *, email: str, password: str, hash_method: str = PASSWORD_HASH_METHOD
) -> User:
    """Return the user whose email and password match, else raise AccountError. An unknown
    email costs the same hash check as a wrong password (`hash_method`: the one new accounts
    get) and gets the same message: neither the answer nor its time tells whether an account
    exists."""
    user = find_by_email(session, email)
    if user is None:
        check_password_hash(_decoy_hash(hash_method), password)
        raise AccountError("Wrong email or password.", field="password")
    if not user.check_password(password):
        raise AccountError("Wrong email or password.", field="password")
    return user


def change_password(
    session: Session,
    user: User,
    *,
    current: str,
    new: str,
    keep_session: int | None,
    hash_method: str = PASSWORD_HASH_METHOD,
) -> int:
    """Set `user`'s password after checking the current one, and end every other session
    (all but `keep_session`, the one making the change) in the same commit; return how many
    ended."""
    if not user.check_password(current):
        raise AccountError("This is not your current password.", field="current")
    if current == new:
        raise AccountError("Choose a password different from the current one.", field="new")
    problem = password_problem(new, email=user.email, name=user.name)
    if problem:
        raise AccountError(problem, field="new")
    user.set_password(new, hash_method)
    return sessions.end_all(session, user, keep=keep_session)
