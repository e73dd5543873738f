"""Password hashes: scrypt at werkzeug's full work factor unless the settings name another."""

from __future__ import annotations

from pathlib import Path

from app import config
from app.models import User


def test_passwords_are_hashed_with_full_strength_scrypt_by_default(tmp_path: Path) -> None:
    user = User(email="a@example.com")

    user.set_password("a long password", config.load(str(tmp_path)).password_hash_method)

    assert user.password_hash.startswith("scrypt:32768:8:1$")
    assert user.check_password("a long password")
    assert not user.check_password("a wrong password")


def test_a_hash_made_with_other_parameters_still_checks() -> None:
    user = User(email="a@example.com")

    user.set_password("a long password", "scrypt:1024:8:1")

    assert user.password_hash.startswith("scrypt:1024:8:1$")
    assert user.check_password("a long password")
