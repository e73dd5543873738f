"""Account and settings forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from app.services.accounts.api_tokens import NAME_MAX_LENGTH
from app.services.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

PASSWORD_HELP = (
    f"At least {MIN_PASSWORD_LENGTH} characters, and hard to guess: a few uncommon words "
    "together work well."
)
_PASSWORD_LENGTH = (
    Length(
        min=MIN_PASSWORD_LENGTH,
        message=f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.",
    ),
    Length(
        max=MAX_PASSWORD_LENGTH,
        message=f"Use a password of at most {MAX_PASSWORD_LENGTH} characters.",
    ),
)


class RegisterForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), *_PASSWORD_LENGTH],
        description=PASSWORD_HELP,
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class TokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired(message="Give the token a name."), Length(max=NAME_MAX_LENGTH)],
        description="What will use it, e.g. “deploy script” or “nightly report”.",
    )
    scope = SelectField(
        "Access",
        choices=[
            SelectChoice("write", "Read and write"),
            SelectChoice("read", "Read only"),
        ],
        default="write",
        description="Read only: GET requests only; anything that changes data is refused (403).",
    )
    expires_in_days = SelectField(
        "Expires",
        choices=[
            SelectChoice("", "Never"),
            SelectChoice("7", "In 7 days"),
            SelectChoice("30", "In 30 days"),
            SelectChoice("90", "In 90 days"),
            SelectChoice("365", "In a year"),
        ],
        default="",
        description="After that it stops working (401); revoke it any time before.",
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        "Current password", validators=[DataRequired(message="Type your current password.")]
    )
    new = PasswordField(
        "New password",
        validators=[DataRequired(message="Type a new password."), *_PASSWORD_LENGTH],
        description=PASSWORD_HELP,
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new", message="The passwords do not match.")],
    )
