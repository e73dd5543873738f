"""Operations endpoints: /healthz (the process is up), /readyz (database and broker reachable)
and /metrics (Prometheus text format, behind a bearer token).

No login, no session and no CSRF: probes and scrapers call them with GET only. The checks
they run live in `app.ops.checks` (shared with `flask doctor`), the figures in
`app.ops.metrics`.
"""

from __future__ import annotations

from app.ops import views  # noqa: F401  (routes register on bp)
from app.ops.blueprint import bp

__all__ = ["bp"]
