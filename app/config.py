"""The Flask side of the settings: `app.config` derived from the typed model in app/settings.

`create_app` loads a `Settings` (defaults, environment, the test mapping), keeps it as
`app.extensions["stepline.settings"]` (read it with `settings_of(app)`), and fills `app.config`
from it with `flask_config`: Flask's and its extensions' keys, each Stepline setting under its
capitalised name (`WORKER_THREADS`), and the mapping's other keys (`TESTING`...) as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import settings as model
from app.settings import Settings, SettingsError, keys, plain, variables

if TYPE_CHECKING:  # the engine's processes import this module without Flask
    from flask import Flask

__all__ = [
    "ENV_VARS",
    "EXTENSION",
    "FLASK_DEFAULTS",
    "Settings",
    "SettingsError",
    "flask_config",
    "load",
    "settings_of",
]

# Environment variables the app reads, each documented in README.md "Configuration".
ENV_VARS = tuple(variables())
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


def load(instance_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Settings:
    """The app's settings: defaults, then the environment, then `overrides` (see app/settings)."""
    return model.load(instance_path, overrides)


def flask_config(settings: Settings, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What `app.config` holds: Flask's defaults, every setting under its mapping key (secrets
    in clear), and the keys of `overrides` that name no setting (`TESTING`...)."""
    known = keys()
    config = dict(FLASK_DEFAULTS)
    config.update({key: plain(getattr(settings, name)) for key, name in known.items()})
    config.update({key: value for key, value in (overrides or {}).items() if key not in known})
    return config


def settings_of(app: Flask) -> Settings:
    """The typed settings `create_app` loaded for `app`."""
    found: Settings = app.extensions[EXTENSION]
    return found
