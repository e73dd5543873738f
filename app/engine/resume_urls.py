"""A waiting step's resume URL (app.engine.waits): `/resume/<token>`, where the token is the
step run's address (execution, position, frame) and an HMAC of it under a key derived from
SECRET_KEY. Nothing is stored: the URL exists before the step runs (an earlier step can send
it), and it is single use because a resume is a conditional UPDATE from `waiting`."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from app.settings import Settings

DEFAULT_PUBLIC_URL = "http://localhost:5000"  # when STEPLINE_PUBLIC_URL is not set
_MAC_CHARS = 32  # 128 bits of HMAC-SHA256, hex


@dataclass(frozen=True)
class WaitRef:
    """One run of a step: its execution, its position in the snapshot, its loop iterations."""

    execution_id: int
    position: int
    frame: str = ""


def _mac(secret: str, ref: WaitRef) -> str:
    key = hmac.new(secret.encode(), b"stepline resume url", hashlib.sha256).digest()
    message = f"{ref.execution_id}:{ref.position}:{ref.frame}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:_MAC_CHARS]


def token_for(secret: str, ref: WaitRef) -> str:
    """The resume token of `ref`: `<execution>-<position>[-<frame>]-<mac>`."""
    parts = [str(ref.execution_id), str(ref.position)]
    if ref.frame:
        parts.append(ref.frame)
    return "-".join([*parts, _mac(secret, ref)])


def read_token(secret: str, token: str) -> WaitRef | None:
    """The step run a token names, or None when it is malformed or forged."""
    parts = token.split("-")
    if len(parts) not in (3, 4) or len(token) > 300:
        return None
    try:
        execution_id, position = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    frame = parts[2] if len(parts) == 4 else ""
    if frame and not all(p.isdigit() for p in frame.split(".")):
        return None
    ref = WaitRef(execution_id, position, frame)
    return ref if hmac.compare_digest(_mac(secret, ref), parts[-1]) else None


def resume_url(settings: Settings, ref: WaitRef) -> str:
    """The absolute resume URL of `ref` (STEPLINE_PUBLIC_URL, else http://localhost:5000)."""
    base = (settings.public_url or DEFAULT_PUBLIC_URL).rstrip("/")
    return f"{base}/resume/{token_for(settings.secret_key_value, ref)}"
