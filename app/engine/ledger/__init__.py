"""Where the runner's claims and records are stored: one interface, a backend's statements
behind it.

The runner decides (which step, which attempt, what outcome, how the execution moves on); a
`Ledger` stores each decision as a conditional write that matches nothing when the message is
stale or duplicate. `for_engine` picks the implementation once, from the engine's dialect:

- `PortableLedger` (app.engine.ledger.portable): a short transaction of Core statements per
  claim and per record, on any database;
- `PostgresLedger` (app.engine.ledger.postgres): the same, but a claim and the common records
  are single statements sent straight to psycopg, chains of pure steps are recorded together,
  and the claim of a pure step only reads it (its chain's record takes it from `pending`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Engine

from app.engine.attempts import Claim, Move, Next, Run, StepRecord
from app.engine.ledger.flow import Limits
from app.engine.ledger.portable import PortableLedger
from app.engine.ledger.postgres import PostgresLedger
from app.models import pg_autocommit


class Ledger(Protocol):
    """Stores claims and records of steps; every write is conditional on the expected state."""

    records_chains: bool
    """Whether `record` takes pure steps run unclaimed before the recorded one (a chain)."""

    def claim(
        self, execution_id: int, position: int, attempt: int, run: Run | None, frame: str = ""
    ) -> Claim | None:
        """Take the step at (`position`, `frame`) for `attempt` and mark the execution running;
        None when the message no longer matches the stored state. Loads the run when `run` is
        None."""
        ...

    def record(self, steps: Sequence[StepRecord], move: Move) -> Next | None:
        """Store the attempt `steps[-1]` (after the chain `steps[:-1]`: successful pure steps,
        the first of them claimed, the others not) and move the execution on, atomically.
        Returns the step the message goes on with, or None when the message ends."""
        ...

    def running(
        self, execution_id: int, position: int, frame: str = ""
    ) -> tuple[Claim, Any] | None:
        """The claim of a step left `running` (its worker stopped) and its stored input."""
        ...

    def hold(self, step: StepRecord) -> StepRecord | None:
        """`step` with its claim stored, if its claim only read it (`UNCLAIMED`: a pure step's
        claim on PostgreSQL); None when the message lost the step meanwhile."""
        ...


def for_engine(
    engine: Engine, lease: timedelta, limits: Limits, pure: Sequence[str] = ()
) -> Ledger:
    """The ledger for `engine`'s database (leases of `lease` past each claim or wake-up; the
    caps of loops in `limits`; `pure`: the action types with no effect but their output)."""
    if pg_autocommit.supports(engine):
        return PostgresLedger(engine, lease, limits, pure)
    return PortableLedger(engine, lease, limits)


__all__ = ["Ledger", "Limits", "PortableLedger", "PostgresLedger", "for_engine"]
