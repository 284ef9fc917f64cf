"""The audit trail's background jobs, for the worker to register (``worker.py`` sits above ``audit``).

Each job takes anything with a ``session`` and a ``clock`` (the worker's
``JobContext``) and runs inside the worker's unit of work, which commits.
Sealing and checkpointing are separate jobs, so a checkpoint signs only what
an earlier transaction already committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session

from privacy_service.audit.checkpoints import CheckpointCadence, ensure_signing_key, write_checkpoint
from privacy_service.audit.sealer import DEFAULT_BATCH_SIZE, seal_pending_events
from privacy_service.audit.witness import Witness
from privacy_service.core.clock import Clock
from privacy_service.crypto import KeyProvider

DEFAULT_MAX_BATCHES = 10


class JobInput(Protocol):
    @property
    def session(self) -> Session: ...

    @property
    def clock(self) -> Clock: ...


def seal_events_job(
    *, batch_size: int = DEFAULT_BATCH_SIZE, max_batches: int = DEFAULT_MAX_BATCHES
) -> Callable[[JobInput], None]:
    """A job that seals pending events in batches until none is full, at most ``max_batches`` per run
    (run it every second or so), so a burst of more than ``batch_size`` events a second is sealed
    within about a second instead of piling up; all in the run's one transaction."""

    def run(job: JobInput) -> None:
        for _ in range(max_batches):
            if seal_pending_events(session=job.session, clock=job.clock, batch_size=batch_size) < batch_size:
                return

    return run


def write_checkpoint_job(
    *, provider: KeyProvider, cadence: CheckpointCadence, witness: Witness | None = None
) -> Callable[[JobInput], None]:
    """A job that writes a signed checkpoint whenever one is due (run it more often than the cadence)."""

    def run(job: JobInput) -> None:
        ensure_signing_key(session=job.session, provider=provider, clock=job.clock)
        write_checkpoint(
            session=job.session, clock=job.clock, provider=provider, cadence=cadence, witness=witness
        )

    return run
