"""Registering users and checking their credentials."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import User
from app.models.users import PASSWORD_HASH_METHOD

MIN_PASSWORD_LENGTH = 10


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
    a taken email or short password."""
    email = normalize_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
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


def authenticate(session: Session, *, email: str, password: str) -> User:
    """Return the user whose email and password match, else raise AccountError."""
    user = find_by_email(session, email)
    if user is None or not user.check_password(password):
        raise AccountError("Wrong email or password.", field="password")
    return user
