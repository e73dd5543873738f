"""Secrets at rest: Fernet/MultiFernet with keys from STEPLINE_SECRET_KEYS."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "enc:v1:"


class SecretKeyError(RuntimeError):
    """The configured keys are missing or malformed (a start-up error)."""


class DecryptionError(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


class SecretBox:
    """Encrypts with the first key, decrypts with any; `rotate` re-encrypts with the first."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SecretKeyError("STEPLINE_SECRET_KEYS is empty: give at least one Fernet key.")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError):
            raise SecretKeyError(
                "STEPLINE_SECRET_KEYS must be comma-separated Fernet keys "
                "(32 url-safe base64-encoded bytes each)."
            ) from None

    @staticmethod
    def is_encrypted(value: object) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not self.is_encrypted(stored):
            raise DecryptionError("value is not an encrypted secret")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, stored: str) -> str:
        return PREFIX + self._fernet.rotate(stored[len(PREFIX) :].encode()).decode()
