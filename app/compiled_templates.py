"""Compiled page templates, shared by every app this process builds.

Jinja compiles a template once per environment, and each app has its own environment; the
compiled code kept here (keyed by template name and checked against the source's checksum, so
an edited template compiles again) lets a second app skip the parse and compile.
"""

from __future__ import annotations

import threading

from jinja2.bccache import Bucket, BytecodeCache


class ProcessBytecodeCache(BytecodeCache):
    """Jinja's bytecode cache in this process's memory."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code


templates = ProcessBytecodeCache()
