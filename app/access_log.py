"""gunicorn's access lines (gunicorn.conf.py names this logger class)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

from app.logs import safe_path


class AccessLogger(GunicornLogger):
    """gunicorn's logger with a lean access line: method, path (webhook tokens cut, no query
    string: either may carry credentials), status, bytes sent, duration and client address,
    as fields of the JSON line. gunicorn's own line builds ~40 fields per request and prints
    whole URLs."""

    def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        path = safe_path(req.path)
        status = resp.status_code
        self.access_log.info(
            "%s %s %s",
            req.method,
            path,
            status,
            extra={
                "method": req.method,
                "path": path,
                "status": status,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 2),
                "remote_addr": environ.get("REMOTE_ADDR"),
            },
        )
