"""Delivering tasks and notices to downstream systems: leased in one transaction, sent outside any, recorded
in another.

Leasing sets ``lease_until`` on due tasks (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never take the same task) and builds each delivery. The
deliveries then run concurrently in a bounded thread pool, so one slow system
does not hold up the others, and each outcome is recorded in its own short
transaction as soon as it arrives. A worker killed mid-delivery leaves only
leases, which run out; the task is then delivered again, with the same
``webhook-id``. A failed attempt is retried with exponential backoff and
jitter until the request's deadline, and then the task fails with its last
error. Notices to the subject (``notices.py``) go out the same way, beside the tasks.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update

from privacy_service.connectors import Accepted, Completed, Delivery, DeliveryOutcome, Failed
from privacy_service.core.errors import DomainError
from privacy_service.dsr.closing import close_request_if_done, complete_task, fail_task
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DownstreamSystem, DsrRequest, DsrTask
from privacy_service.dsr.notices import NoticeAnswer, NoticeLease, lease_due_notices, record_notice_outcomes
from privacy_service.dsr.outbox import lease_for, retry_delay
from privacy_service.dsr.service import jurisdiction_country
from privacy_service.dsr.states import ACTIVE_REQUEST_STATUSES, RequestStatus, TaskStatus
from privacy_service.dsr.systems import SystemTarget, find_target
from privacy_service.policy import RequestType
from privacy_service.vault import service as vault
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work, Workplace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    """A task leased for one delivery attempt."""

    task_id: str
    request_id: str
    attempt: int  # the task's attempt number this lease made: a later lease makes another
    delivery: Delivery

    def answered(self, outcome: DeliveryOutcome) -> Answer:
        return Answer(self.task_id, self.attempt, outcome)


def lease_due_tasks(work: Work, *, fulfilment: Fulfilment, limit: int) -> list[Lease]:
    """Lease up to ``limit`` due tasks and build their deliveries; a task that cannot be sent fails here."""
    now = work.clock.now()
    rows = work.session.execute(
        select(DsrTask, DsrRequest)
        .join(DsrRequest, DsrTask.request_id == DsrRequest.id)
        .where(
            DsrTask.status == TaskStatus.PENDING.value,
            DsrTask.next_attempt_at <= now,
            or_(DsrTask.lease_until.is_(None), DsrTask.lease_until < now),
            DsrRequest.status.in_([status.value for status in ACTIVE_REQUEST_STATUSES]),
            DsrRequest.due_at > now,
        )
        .order_by(DsrTask.next_attempt_at, DsrTask.id)
        .limit(limit)
        .with_for_update(of=DsrTask, skip_locked=True)
    ).all()
    # Everything the deliveries need is read before any task changes, so reading never flushes one
    # task's lease at a time; each system's secret and each subject's profile is opened once.
    names = sorted({task.system for task, _ in rows})
    # One query puts the registered systems in the session, where find_target then finds them.
    work.session.scalars(select(DownstreamSystem).where(DownstreamSystem.name.in_(names))).all()
    targets = {name: find_target(work, policies=fulfilment.policies, name=name) for name in names}
    profiles = {
        subject_id: _profile(work, fulfilment=fulfilment, subject_id=subject_id)
        for subject_id in sorted({request.subject_id for _, request in rows})
    }
    leases: list[Lease] = []
    starting: set[str] = set()
    for task, request in rows:
        target = targets[task.system]
        if target is None:
            fail_task(
                work,
                fulfilment=fulfilment,
                task=task,
                request=request,
                error="the system is no longer registered",
            )
            continue
        profile = profiles[request.subject_id]
        if profile is None:
            fail_task(
                work,
                fulfilment=fulfilment,
                task=task,
                request=request,
                error="the subject no longer exists here",
            )
            continue
        task.attempts += 1
        task.lease_until = now + lease_for(target.timeout_seconds)
        if request.status == RequestStatus.RECEIVED.value:
            starting.add(request.id)
        leases.append(
            Lease(
                task_id=task.id,
                request_id=request.id,
                attempt=task.attempts,
                delivery=_delivery(
                    fulfilment=fulfilment, task=task, request=request, target=target, profile=profile
                ),
            )
        )
    # In id order, as everything that locks several requests does, so two workers never deadlock.
    for request_id in sorted(starting):
        # Conditional, so a concurrent rejection by an officer is never overwritten.
        work.session.execute(
            update(DsrRequest)
            .where(DsrRequest.id == request_id, DsrRequest.status == RequestStatus.RECEIVED.value)
            .values(status=RequestStatus.IN_PROGRESS.value)
        )
    return leases


def _profile(work: Work, *, fulfilment: Fulfilment, subject_id: str) -> ProfileFields | None:
    try:
        return vault.read_profile(work, subject_id=subject_id)
    except DomainError:
        return None


def _delivery(
    *,
    fulfilment: Fulfilment,
    task: DsrTask,
    request: DsrRequest,
    target: SystemTarget,
    profile: ProfileFields,
) -> Delivery:
    """API.md "What downstream systems receive"."""
    identifiers: dict[str, Any] = {"subject_id": request.subject_id, "email": profile.email}
    if profile.phone:
        identifiers["phone"] = profile.phone
    payload: dict[str, Any] = {
        "type": f"dsr.{request.type}",
        "request_id": request.id,
        "task_id": task.id,
        "due_at": request.due_at.isoformat().replace("+00:00", "Z"),
        "subject": {"id": request.subject_id, "email": profile.email, "identifiers": identifiers},
        "callback_url": fulfilment.callback_url(task.id),
    }
    if request.type == RequestType.ERASURE.value:
        # What the law makes this system keep for this subject's country: it answers with `retained`.
        rules = fulfilment.policies.retention_for(
            country=jurisdiction_country(profile), categories=target.categories
        )
        payload["legal_holds"] = [
            {"category": rule.category, "keep_for": rule.keep_for.describe(), "legal_basis": rule.legal_basis}
            for rule in rules
        ]
    return Delivery(
        system=target.name,
        url=target.url,
        secret=target.secret,
        webhook_id=task.webhook_id,
        payload=payload,
        timeout_seconds=target.timeout_seconds,
    )


def record_outcome(
    work: Work,
    *,
    fulfilment: Fulfilment,
    task_id: str,
    outcome: DeliveryOutcome,
    rng: random.Random,
    attempt: int | None = None,
) -> None:
    """Write what one delivery attempt came to, and end the request if that was its last open task."""
    record_outcomes(work, fulfilment=fulfilment, outcomes=[Answer(task_id, attempt, outcome)], rng=rng)


@dataclass(frozen=True)
class Answer:
    """What one delivery attempt came to; ``attempt`` None when the caller does not know which attempt."""

    task_id: str
    attempt: int | None
    outcome: DeliveryOutcome

    def is_stale_for(self, task: DsrTask) -> bool:
        """True when the task was leased again since: only a completion still counts then.

        A late failure (or acceptance) of an attempt whose lease ran out must not overwrite the newer
        attempt's lease or schedule; a late completion is still the system's answer, and ends the task.
        """
        return (
            self.attempt is not None
            and self.attempt != task.attempts
            and not isinstance(self.outcome, Completed)
        )


def record_outcomes(
    work: Work, *, fulfilment: Fulfilment, outcomes: Sequence[Answer], rng: random.Random
) -> None:
    """Write what several delivery attempts came to, then end the requests whose last open task that was.

    Tasks are locked first, then their requests in id order (``close_request_if_done``), so two
    workers recording at once, or a callback, never wait for each other in a cycle.
    """
    # One query locks the batch's tasks (in id order) and one reads their requests, so recording a
    # batch does not cost a round trip, and a flush, per task.
    tasks = {
        task.id: task
        for task in work.session.scalars(
            select(DsrTask)
            .where(DsrTask.id.in_([answer.task_id for answer in outcomes]))
            .order_by(DsrTask.id)
            .with_for_update()
        )
    }
    requests = {
        request.id: request
        for request in work.session.scalars(
            select(DsrRequest).where(DsrRequest.id.in_({task.request_id for task in tasks.values()}))
        )
    }
    ended: set[str] = set()
    for answer in sorted(outcomes, key=lambda item: item.task_id):
        task = tasks.get(answer.task_id)
        if task is None or TaskStatus(task.status).is_final:
            continue  # a callback got there first, or the request was rejected meanwhile
        if answer.is_stale_for(task):
            continue  # leased again after this attempt's lease ran out: the newer attempt reports
        request = requests[task.request_id]
        _record_attempt(
            work, fulfilment=fulfilment, task=task, request=request, outcome=answer.outcome, rng=rng
        )
        ended.add(request.id)
    for request_id in sorted(ended):
        close_request_if_done(work, fulfilment=fulfilment, request_id=request_id)


def _record_attempt(
    work: Work,
    *,
    fulfilment: Fulfilment,
    task: DsrTask,
    request: DsrRequest,
    outcome: DeliveryOutcome,
    rng: random.Random,
) -> None:
    """Write one attempt's outcome on its (locked, still open) task."""
    task.lease_until = None
    now = work.clock.now()
    if isinstance(outcome, Completed):
        complete_task(work, fulfilment=fulfilment, task=task, request=request, answer=outcome)
    elif isinstance(outcome, Accepted):
        if task.status == TaskStatus.PENDING.value:
            task.status = TaskStatus.WAITING.value
            task.accepted_at = now
    else:
        _after_failure(work, fulfilment=fulfilment, task=task, request=request, failure=outcome, rng=rng)


def _after_failure(
    work: Work,
    *,
    fulfilment: Fulfilment,
    task: DsrTask,
    request: DsrRequest,
    failure: Failed,
    rng: random.Random,
) -> None:
    if not failure.retryable:
        fail_task(work, fulfilment=fulfilment, task=task, request=request, error=failure.error)
        return
    next_attempt = work.clock.now() + retry_delay(
        attempts=task.attempts, minimum=fulfilment.retry_min, maximum=fulfilment.retry_max, rng=rng
    )
    if next_attempt >= request.due_at:
        fail_task(
            work,
            fulfilment=fulfilment,
            task=task,
            request=request,
            error=f"{failure.error}; no attempt left before the deadline",
        )
        return
    task.last_error = failure.error
    task.next_attempt_at = next_attempt


class FanOut:
    """One worker process's deliveries: leases due tasks and sends them concurrently, at most ``capacity``."""

    def __init__(self, *, workplace: Workplace, fulfilment: Fulfilment) -> None:
        self._workplace = workplace
        self.fulfilment = fulfilment
        self._capacity = fulfilment.delivery_concurrency
        self._pool = ThreadPoolExecutor(max_workers=self._capacity, thread_name_prefix="dsr-delivery")
        self._in_flight: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._outcomes: list[Answer | NoticeAnswer] = []  # answered, not yet recorded
        self._recording = threading.Lock()  # one recorder at a time
        self._rng = random.Random()  # noqa: S311 - jitter, not a secret

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def run_once(self) -> int:
        """Lease as many due tasks as there are free places and start their deliveries; return how many."""
        free = self._capacity - self.in_flight
        if free <= 0:
            return 0
        with self._workplace.open() as work:
            leases: list[Lease | NoticeLease] = [
                *lease_due_tasks(work, fulfilment=self.fulfilment, limit=free)
            ]
            leases += lease_due_notices(work, fulfilment=self.fulfilment, limit=free - len(leases))
        for lease in leases:
            future = self._pool.submit(self._deliver, lease)
            with self._lock:
                self._in_flight.add(future)
            future.add_done_callback(self._done)
        return len(leases)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    def _deliver(self, lease: Lease | NoticeLease) -> None:
        outcome = self.fulfilment.connector.deliver(lease.delivery, now=self._workplace.clock.now())
        with self._lock:
            self._outcomes.append(lease.answered(outcome))
        # Group commit: whoever holds the recorder writes every outcome that has arrived in one
        # transaction, so answers arriving together do not queue one by one for the database's write
        # lock. This delivery ends only once its outcome is recorded: either a recorder took it before
        # this thread got the lock (and committed before releasing it), or this thread records it now.
        with self._recording:
            with self._lock:
                batch, self._outcomes = self._outcomes, []
            if batch:
                self._record(batch)

    def _record(self, batch: list[Answer | NoticeAnswer]) -> None:
        tasks = [answer for answer in batch if isinstance(answer, Answer)]
        notices = [answer for answer in batch if isinstance(answer, NoticeAnswer)]
        try:
            with self._workplace.open() as work:
                if tasks:
                    record_outcomes(work, fulfilment=self.fulfilment, outcomes=tasks, rng=self._rng)
                if notices:
                    record_notice_outcomes(work, fulfilment=self.fulfilment, outcomes=notices, rng=self._rng)
            return
        except Exception:
            if len(batch) == 1:
                # The lease runs out and it is delivered again (same webhook-id): nothing is lost.
                log.exception("could not record a delivery outcome")
                return
            log.warning(
                "could not record a batch of delivery outcomes; recording them one by one",
                exc_info=True,
                extra={"outcomes": len(batch)},
            )
        for item in batch:
            self._record([item])

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the deliveries in flight; True when none is left."""
        with self._lock:
            pending = list(self._in_flight)
        for future in pending:
            try:
                future.result(timeout=timeout)
            except Exception:  # noqa: S112 - logged by _deliver; waiting is all that is asked here
                continue
        return self.in_flight == 0

    def close(self) -> None:
        """Finish the deliveries in flight (their outcomes are recorded), then stop."""
        self._pool.shutdown(wait=True)
