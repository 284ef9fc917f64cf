"""The audit trail's background jobs, for the worker to register (``worker.py`` sits above ``audit``).

Each job is handed the worker's unit of work for its run, which commits when
the job returns. Chaining and checkpointing are separate jobs, so a
checkpoint signs only what an earlier transaction already committed.
"""

from __future__ import annotations

from collections.abc import Callable

from privacy_service.audit.checkpoints import CheckpointCadence, ensure_signing_key, write_checkpoint
from privacy_service.audit.sealer import DEFAULT_BATCH_SIZE, seal_pending_events
from privacy_service.audit.witness import Witness
from privacy_service.crypto import KeyProvider
from privacy_service.work import Work

DEFAULT_MAX_BATCHES = 10


def seal_events_job(
    *, batch_size: int = DEFAULT_BATCH_SIZE, max_batches: int = DEFAULT_MAX_BATCHES
) -> Callable[[Work], None]:
    """A job that seals pending events in batches until none is full, at most ``max_batches`` per run
    (run it every second or so), so a burst of more than ``batch_size`` events a second is sealed
    within about a second instead of piling up; all in the run's one transaction."""

    def run(work: Work) -> None:
        for _ in range(max_batches):
            if seal_pending_events(work, batch_size=batch_size) < batch_size:
                return

    return run


def write_checkpoint_job(
    *, provider: KeyProvider, cadence: CheckpointCadence, witness: Witness | None = None
) -> Callable[[Work], None]:
    """A job that writes a signed checkpoint whenever one is due (run it more often than the cadence)."""

    def run(work: Work) -> None:
        ensure_signing_key(work, provider=provider)
        write_checkpoint(work, provider=provider, cadence=cadence, witness=witness)

    return run
