"""Loading the typed settings (app/settings.py), and the Flask side of them.

`load` builds a `Settings` from defaults, the environment and a mapping, then fills the
embedded defaults under instance/ (a SQLite file, generated secret keys). `create_app` keeps it
as `app.extensions["stepline.settings"]` (read it with `settings_of(app)`) and fills
`app.config` from it with `flask_config`: Flask's and its extensions' keys, each Stepline
setting under its capitalised name (`WORKER_THREADS`), and the mapping's other keys
(`TESTING`...) as given. Worker processes call `load` without Flask.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError

from app.setting_values import cookies_secure
from app.settings import Settings, SettingsError, keys, plain

if TYPE_CHECKING:  # the engine's processes import this module without Flask
    from flask import Flask

__all__ = [
    "ENV_VARS",
    "EXTENSION",
    "FLASK_DEFAULTS",
    "Settings",
    "SettingsError",
    "build",
    "flask_config",
    "load",
    "settings_of",
    "variables",
]

EXTENSION = "stepline.settings"

# Flask's and its extensions' own settings, the same for every Stepline app.
FLASK_DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
}


def variables() -> dict[str, str]:
    """Each environment variable the model reads, with its field's name."""
    return {
        str(info.validation_alias): name
        for name, info in Settings.model_fields.items()
        if isinstance(info.validation_alias, str)
    }


def _name_in_error(loc: str) -> str:
    """The variable a validation error is about (its loc), or for an internal knob (whose loc
    is the field's name) the mapping key."""
    if loc not in Settings.model_fields:
        return loc
    return next((key for key, name in keys().items() if name == loc), loc)


def _describe(exc: ValidationError) -> Iterator[str]:
    for error in exc.errors(include_url=False):
        where = _name_in_error(str(error["loc"][0])) if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = repr(error.get("input"))
        secret = "SECRET" in where or "TOKEN" in where  # never echo a secret into a log
        got = "" if secret or shown in message else f", got {shown}"
        yield f"{where}: {message}{got}"


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """Return the secret stored at `path`, generating it once if the file does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def build(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Defaults, then the environment, then the settings among `overrides` (by mapping key:
    `WORKER_THREADS`); keys that name no setting are left out (`flask_config` passes them on)."""
    known = keys()
    given = {known[key]: value for key, value in (overrides or {}).items() if key in known}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(exc))) from None


def load(instance_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Settings:
    """`build(overrides)`, then the embedded defaults of what is still unset: a SQLite file
    and generated secrets under `instance_path`."""
    settings = build(overrides)
    instance = Path(instance_path)
    embedded: dict[str, Any] = {}
    if not settings.database_url:
        instance.mkdir(parents=True, exist_ok=True)
        embedded["database_url"] = f"sqlite:///{instance / 'stepline.db'}"
    if not settings.secret_key_value:
        made = _read_or_create(instance / "secret_key", lambda: secrets.token_hex(32))
        embedded["secret_key"] = SecretStr(made)
    if not settings.secret_keys_value:
        made = _read_or_create(instance / "fernet.key", lambda: Fernet.generate_key().decode())
        embedded["secret_keys"] = SecretStr(made)
    return settings.model_copy(update=embedded) if embedded else settings


# Environment variables the app reads, each documented in README.md "Configuration".
ENV_VARS = tuple(variables())


def flask_config(settings: Settings, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What `app.config` holds: Flask's defaults, every setting under its mapping key (secrets
    in clear), and the keys of `overrides` that name no setting (`TESTING`...)."""
    known = keys()
    config = dict(FLASK_DEFAULTS)
    config.update({key: plain(getattr(settings, name)) for key, name in known.items()})
    # Secure whenever the settings say always; per request otherwise (app.proxy).
    config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = bool(
        cookies_secure(settings)
    )
    config.update({key: value for key, value in (overrides or {}).items() if key not in known})
    return config


def settings_of(app: Flask) -> Settings:
    """The typed settings `create_app` loaded for `app`."""
    found: Settings = app.extensions[EXTENSION]
    return found
