"""Settings: embedded defaults, the environment, and test overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import config


def test_embedded_defaults_write_secrets_once_under_instance(tmp_path: Path) -> None:
    first = config.load(str(tmp_path))
    second = config.load(str(tmp_path))

    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'stepline.db'}"
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["SECRET_KEYS"] == second["SECRET_KEYS"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first["REDIS_URL"] is None


def test_environment_overrides_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/stepline")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("STEPLINE_SECRET_KEYS", "k1,k2")

    settings = config.load(str(tmp_path))

    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db.internal/stepline"
    assert settings["REDIS_URL"] == "redis://cache:6379/0"
    assert settings["SECRET_KEY"] == "from-env"
    assert settings["SECRET_KEYS"] == "k1,k2"
    assert not (tmp_path / "secret_key").exists()


def test_mapping_overrides_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert config.load(str(tmp_path), {"SECRET_KEY": "mapped"})["SECRET_KEY"] == "mapped"


def test_a_bad_integer_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPLINE_WORKER_THREADS", "many")
    with pytest.raises(RuntimeError, match="STEPLINE_WORKER_THREADS"):
        config.load(str(tmp_path))


def test_google_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPLINE_GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com")
    monkeypatch.setenv("STEPLINE_GOOGLE_CLIENT_SECRET", "shh")
    monkeypatch.setenv("STEPLINE_GOOGLE_POLL_INTERVAL", "120")
    monkeypatch.setenv("STEPLINE_GOOGLE_API_BASE_URLS", "gmail=http://fake/gmail/v1/")

    settings = config.load(str(tmp_path))

    assert settings["GOOGLE_CLIENT_ID"] == "id.apps.googleusercontent.com"
    assert settings["GOOGLE_CLIENT_SECRET"] == "shh"
    assert settings["GOOGLE_POLL_INTERVAL"] == 120.0
    assert settings["GOOGLE_API_BASE_URLS"]["gmail"] == "http://fake/gmail/v1"
    assert settings["GOOGLE_API_BASE_URLS"]["sheets"] == "https://sheets.googleapis.com/v4"


def test_one_google_base_url_serves_all_four_apis() -> None:
    assert config.parse_base_urls("http://fake:8080/") == {
        "gmail": "http://fake:8080/gmail/v1",
        "sheets": "http://fake:8080/v4",
        "drive": "http://fake:8080/drive/v3",
        "calendar": "http://fake:8080/calendar/v3",
    }
    with pytest.raises(RuntimeError, match="STEPLINE_GOOGLE_API_BASE_URLS"):
        config.parse_base_urls("mail=http://x")
