"""Settings: the typed model's defaults, the environment, the test mapping, and app.config."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from app import config, settings
from app.settings import Settings, SettingsError


def test_embedded_defaults_write_secrets_once_under_instance(tmp_path: Path) -> None:
    first = config.load(str(tmp_path))
    second = config.load(str(tmp_path))

    assert first.database_url == f"sqlite:///{tmp_path / 'stepline.db'}"
    assert first.secret_key_value == second.secret_key_value != ""
    assert first.secret_keys_value == second.secret_keys_value != ""
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "fernet.key").read_text().strip() == first.secret_keys_value
    assert first.redis_url is None


def test_environment_overrides_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/stepline")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("STEPLINE_SECRET_KEYS", "k1,k2")
    monkeypatch.setenv("STEPLINE_WORKER_THREADS", "9")
    monkeypatch.setenv("STEPLINE_EXECUTION_LEASE_SECONDS", "2.5")
    monkeypatch.setenv("STEPLINE_EMBEDDED_WORKER", "false")

    loaded = config.load(str(tmp_path))

    assert loaded.database_url == "postgresql+psycopg://db.internal/stepline"
    assert loaded.redis_url == "redis://cache:6379/0"
    assert loaded.secret_key_value == "from-env"
    assert loaded.secret_keys_value == "k1,k2"
    assert loaded.worker_threads == 9
    assert loaded.execution_lease_seconds == 2.5
    assert loaded.embedded_worker is False
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("postgres://u:p@db/s", "postgresql+psycopg://u:p@db/s"),
        ("postgresql://u:p@db/s", "postgresql+psycopg://u:p@db/s"),
        ("postgresql+psycopg://u:p@db/s", "postgresql+psycopg://u:p@db/s"),
        ("sqlite:////var/stepline.db", "sqlite:////var/stepline.db"),
    ],
)
def test_postgresql_urls_use_psycopg_whichever_spelling(url: str, normalised: str) -> None:
    assert config.build({"SQLALCHEMY_DATABASE_URI": url}).database_url == normalised


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPLINE_WORKER_THREADS", "")
    monkeypatch.setenv("STEPLINE_LOG_LEVEL", "")
    monkeypatch.setenv("REDIS_URL", "")

    loaded = config.build()

    assert (loaded.worker_threads, loaded.log_level, loaded.redis_url) == (4, "INFO", None)


def test_mapping_overrides_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("STEPLINE_WORKER_THREADS", "9")

    loaded = config.load(str(tmp_path), {"SECRET_KEY": "mapped", "WORKER_THREADS": 2})

    assert (loaded.secret_key_value, loaded.worker_threads) == ("mapped", 2)


def test_internal_knobs_come_from_the_mapping_never_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given variables named like internal knobs and like fields
    monkeypatch.setenv("WORKER_POLL_MS", "7")
    monkeypatch.setenv("worker_threads", "7")
    monkeypatch.setenv("STEPLINE_WORKER_POLL_MS", "7")

    # Then none of them is read; the mapping sets the knob
    assert config.build().worker_poll_ms == 100
    assert config.build().worker_threads == 4
    assert config.build({"WORKER_POLL_MS": 10}).worker_poll_ms == 10


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STEPLINE_WORKER_THREADS", "many"),
        ("STEPLINE_SCHEDULER_INTERVAL", "soon"),
        ("STEPLINE_MAX_QUEUE_DEPTH", "1.5"),
        ("STEPLINE_LOG_FORMAT", "xml"),
        ("STEPLINE_BROKER_HEARTBEAT_TIMEOUT", "a minute"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"^{variable}: .*'{value}'"):
        config.load(str(tmp_path))
    assert issubclass(SettingsError, RuntimeError)


def test_a_malformed_mapping_value_names_its_key() -> None:
    with pytest.raises(SettingsError, match=r"^WORKER_POLL_MS: "):
        config.build({"WORKER_POLL_MS": "often"})


def test_a_secret_is_not_repeated_in_an_error_or_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPLINE_METRICS_TOKEN", "hunter2-token")
    loaded = config.build()

    assert isinstance(loaded.metrics_token, SecretStr)
    assert "hunter2-token" not in repr(loaded)
    assert loaded.metrics_token.get_secret_value() == "hunter2-token"


def test_google_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPLINE_GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com")
    monkeypatch.setenv("STEPLINE_GOOGLE_CLIENT_SECRET", "shh")
    monkeypatch.setenv("STEPLINE_GOOGLE_POLL_INTERVAL", "120")
    monkeypatch.setenv("STEPLINE_GOOGLE_API_BASE_URLS", "gmail=http://fake/gmail/v1/")

    loaded = config.load(str(tmp_path))

    assert loaded.google_client_id == "id.apps.googleusercontent.com"
    assert loaded.google_client_secret is not None
    assert loaded.google_client_secret.get_secret_value() == "shh"
    assert loaded.google_poll_interval == 120.0
    assert loaded.google_api_base_urls["gmail"] == "http://fake/gmail/v1"
    assert loaded.google_api_base_urls["sheets"] == "https://sheets.googleapis.com/v4"


def test_one_google_base_url_serves_all_four_apis(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.parse_base_urls("http://fake:8080/") == {
        "gmail": "http://fake:8080/gmail/v1",
        "sheets": "http://fake:8080/v4",
        "drive": "http://fake:8080/drive/v3",
        "calendar": "http://fake:8080/calendar/v3",
    }
    with pytest.raises(RuntimeError, match="STEPLINE_GOOGLE_API_BASE_URLS"):
        settings.parse_base_urls("mail=http://x")
    monkeypatch.setenv("STEPLINE_GOOGLE_API_BASE_URLS", "mail=http://x")
    with pytest.raises(SettingsError, match="STEPLINE_GOOGLE_API_BASE_URLS"):
        config.build()


def test_the_flask_config_carries_every_setting_under_its_key_and_the_mapping_extras(
    tmp_path: Path,
) -> None:
    # Given settings loaded with a mapping of setting keys and Flask keys
    mapping = {"SECRET_KEY": "s", "WORKER_THREADS": 3, "TESTING": True, "MAX_CONTENT_LENGTH": 10}
    loaded = config.load(str(tmp_path), mapping)

    # When app.config is derived from them
    flask_config = config.flask_config(loaded, mapping)

    # Then Flask's keys, each setting in clear, and the mapping's other keys are there
    assert flask_config["SQLALCHEMY_DATABASE_URI"] == loaded.database_url
    assert flask_config["SECRET_KEY"] == "s"
    assert flask_config["SECRET_KEYS"] == loaded.secret_keys_value
    assert flask_config["WORKER_THREADS"] == 3
    assert flask_config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert (flask_config["TESTING"], flask_config["MAX_CONTENT_LENGTH"]) == (True, 10)
    assert set(settings.keys()) <= set(flask_config)
    assert "DATABASE_URL" not in flask_config


def test_every_field_is_described_and_the_model_is_frozen() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description, name
    with pytest.raises(ValueError, match="frozen"):
        config.build().worker_threads = 2  # type: ignore[misc]
