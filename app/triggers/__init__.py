"""Trigger handlers. BUILTIN_TRIGGERS is the one ordered list of the built-in kinds."""

from __future__ import annotations

from app.triggers.google import GOOGLE_TRIGGERS
from app.triggers.manual import ManualTrigger

BUILTIN_TRIGGERS = (ManualTrigger, *GOOGLE_TRIGGERS)
