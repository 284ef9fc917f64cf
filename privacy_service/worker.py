"""The background worker: periodic jobs (deliveries, retries, audit sealing, checkpoints, purges).

It runs inside ``serve`` on the embedded default and as ``privacy-service
worker`` processes in production. Each job runs in its own unit of work, so
one job's failure rolls back only its own changes and is retried on the next
tick. Stopping is graceful: a stop request lets the job in flight finish and
starts no new one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from privacy_service.approvals import service as approvals
from privacy_service.approvals.shop_events import idempotency
from privacy_service.audit.checkpoints import CheckpointCadence
from privacy_service.audit.jobs import seal_events_job, write_checkpoint_job
from privacy_service.audit.witness import FileWitness
from privacy_service.core.config import Settings
from privacy_service.crypto import KeyProvider
from privacy_service.dsr import receipts
from privacy_service.dsr.fanout import FanOut
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.jobs import (
    close_requests_job,
    deliver_tasks_job,
    journal_erasures_job,
    purge_exports_job,
    purge_records_job,
)
from privacy_service.identity import browser_sessions, revocation, throttle
from privacy_service.policy import Period
from privacy_service.work import Work, Workplace

log = logging.getLogger(__name__)

# How often a worker looks for due deliveries it was not told about: filed by another process, or
# due for a retry. A request filed in this process wakes the worker at its commit instead.
DELIVERY_POLL_SECONDS = 0.25


JobFunction = Callable[[Work], None]  # handed the unit of work of its run, which commits when it returns


@dataclass
class Job:
    """A unit of background work that runs at most every ``every_seconds``."""

    name: str
    run: JobFunction
    every_seconds: float
    wakes_on_new_tasks: bool = False  # runs at once when this process commits new deliveries
    _next_due: float = field(default=0.0, repr=False)


def _purge_login_failures(work: Work) -> None:
    throttle.purge_expired(work)


def _purge_revoked_tokens(work: Work) -> None:
    revocation.purge_expired(work)


def _browser_session_purge(settings: Settings) -> JobFunction:
    def purge(work: Work) -> None:
        browser_sessions.purge_expired(
            work, idle=settings.web_session_idle, lifetime=settings.web_session_lifetime
        )

    return purge


def _idempotency_key_purge(settings: Settings) -> JobFunction:
    def purge(work: Work) -> None:
        idempotency.purge_expired(work, retention=settings.idempotency_key_retention)

    return purge


def _purge_receipts(work: Work) -> None:
    receipts.purge_expired_receipts(work)


def _expire_approvals(work: Work) -> None:
    approvals.expire_approvals(work)


def default_jobs(*, settings: Settings, provider: KeyProvider, fanout: FanOut | None = None) -> list[Job]:
    """The jobs every worker runs; each capability adds its own here."""
    cadence = CheckpointCadence(
        every_events=settings.audit_checkpoint_every, every_seconds=settings.audit_checkpoint_seconds
    )
    witness = FileWitness(settings.audit_witness_file) if settings.audit_witness_file else None
    jobs = [
        # Sealing and checkpoints are separate jobs: a checkpoint signs only what is committed.
        Job(name="audit_seal", run=seal_events_job(batch_size=settings.audit_seal_batch), every_seconds=1),
        Job(
            name="audit_checkpoint",
            run=write_checkpoint_job(provider=provider, cadence=cadence, witness=witness),
            every_seconds=min(5.0, settings.audit_checkpoint_seconds / 4),
        ),
        Job(name="purge_login_failures", run=_purge_login_failures, every_seconds=300),
        Job(name="purge_revoked_tokens", run=_purge_revoked_tokens, every_seconds=300),
        Job(name="purge_browser_sessions", run=_browser_session_purge(settings), every_seconds=300),
        Job(name="expire_approvals", run=_expire_approvals, every_seconds=30),
        Job(name="purge_idempotency_keys", run=_idempotency_key_purge(settings), every_seconds=300),
    ]
    if fanout is not None:
        fulfilment = fanout.fulfilment
        jobs += [
            Job(
                name="dsr_deliver",
                run=deliver_tasks_job(fanout),
                every_seconds=DELIVERY_POLL_SECONDS,
                wakes_on_new_tasks=True,
            ),
            Job(name="dsr_close", run=close_requests_job(fulfilment), every_seconds=1),
            Job(
                name="erasure_journal", run=journal_erasures_job(fulfilment.erasure_journal), every_seconds=5
            ),
            Job(name="purge_exports", run=purge_exports_job(), every_seconds=300),
            Job(name="purge_receipts", run=_purge_receipts, every_seconds=300),
            Job(
                name="purge_dsr_records",
                run=purge_records_job(keep=Period(months=settings.dsr_record_months)),
                every_seconds=300,
            ),
        ]
    return jobs


def build_worker(*, settings: Settings, workplace: Workplace, fulfilment: Fulfilment) -> Worker:
    """The worker of ``serve`` and ``privacy-service worker``: every job, and deliveries drained on stop."""
    fanout = FanOut(workplace=workplace, fulfilment=fulfilment)
    worker = Worker(
        workplace=workplace,
        jobs=default_jobs(settings=settings, provider=workplace.keyring.provider, fanout=fanout),
        poll_seconds=settings.worker_poll_seconds,
        on_stop=[fanout.close],
    )
    # The fan-out of a request filed in this process starts once it commits, not at the next poll.
    fulfilment.new_tasks.listen(worker.wake)
    return worker


class Worker:
    def __init__(
        self,
        *,
        workplace: Workplace,
        jobs: Sequence[Job],
        poll_seconds: float = 1.0,
        on_stop: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._workplace = workplace
        self._jobs = list(jobs)
        self._poll_seconds = poll_seconds
        self._on_stop = list(on_stop)
        self._stop = threading.Event()
        self._signal = threading.Event()  # set by stop() and wake(): cuts the pause short
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_once(self) -> int:
        """Run every job that is due; return how many ran. Errors are logged, never raised."""
        ran = 0
        for job in self._jobs:
            if self._stop.is_set():
                break
            now = time.monotonic()
            if now < job._next_due:
                continue
            job._next_due = now + job.every_seconds
            self._run_job(job)
            ran += 1
        return ran

    def _run_job(self, job: Job) -> None:
        try:
            with self._workplace.open() as work:
                job.run(work)
        except Exception:
            log.exception("worker job failed", extra={"job": job.name})

    def run(self) -> None:
        """Loop until ``stop()``; the job in flight when it is called still finishes."""
        log.info("worker started", extra={"jobs": [job.name for job in self._jobs]})
        try:
            while not self._stop.is_set():
                self.run_once()
                self._signal.wait(self._pause())
                self._signal.clear()
        finally:
            for hook in self._on_stop:
                hook()  # e.g. deliveries in flight finish and are recorded
        log.info("worker stopped")

    def _pause(self) -> float:
        """Sleep until the next job is due, at most ``poll_seconds``."""
        now = time.monotonic()
        next_due = min((job._next_due for job in self._jobs), default=now + self._poll_seconds)
        return max(0.0, min(self._poll_seconds, next_due - now))

    def stop(self) -> None:
        self._stop.set()
        self._signal.set()

    def wake(self) -> None:
        """Run the jobs that wait for new tasks now, not at their next turn (safe from any thread)."""
        for job in self._jobs:
            if job.wakes_on_new_tasks:
                job._next_due = 0.0
        self._signal.set()

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(target=self.run, name="privacy-worker", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the loop to end; True when it did within ``timeout``."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
