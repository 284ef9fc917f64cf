"""Counts of tasks and deliveries, as monitoring reads them (``GET /metrics``).

Read from the tasks themselves (the outbox), not counted as they happen, so
the figures are the same whichever process asks, however many workers
deliver, and across restarts. One grouped query over ``dsr_tasks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_service.dsr.models import DsrTask
from privacy_service.dsr.states import TaskStatus


class DeliveryStanding(StrEnum):
    """Where one task's delivery to its downstream system stands; each task is in exactly one."""

    ACCEPTED = "accepted"  # the system took the task and will call back (task ``waiting``)
    CANCELLED = "cancelled"  # its request was rejected before the system answered
    COMPLETED = "completed"  # the system answered, at once or by callback
    FAILED = "failed"  # refused for good, or no attempt left before the deadline
    PENDING = "pending"  # not attempted yet, or its first attempt is in flight
    RETRYING = "retrying"  # an attempt failed; another is scheduled


_STANDING_OF_FINAL: dict[TaskStatus, DeliveryStanding] = {
    TaskStatus.CANCELLED: DeliveryStanding.CANCELLED,
    TaskStatus.COMPLETED: DeliveryStanding.COMPLETED,
    TaskStatus.FAILED: DeliveryStanding.FAILED,
    TaskStatus.WAITING: DeliveryStanding.ACCEPTED,
}


@dataclass(frozen=True, slots=True)
class DeliveryTally:
    """The tasks of one system in one standing, and the delivery attempts made for them so far."""

    system: str
    standing: DeliveryStanding
    tasks: int
    attempts: int


@dataclass(frozen=True, slots=True)
class TaskTallies:
    by_status: dict[TaskStatus, int]  # every status, zero included
    deliveries: Sequence[DeliveryTally]  # only the (system, standing) pairs that have tasks


def task_tallies(*, session: Session) -> TaskTallies:
    """Tasks by status, and by system and delivery standing with their attempts, from one grouped query."""
    failed_before = DsrTask.last_error.is_not(None)
    rows = session.execute(
        select(
            DsrTask.system,
            DsrTask.status,
            failed_before,
            func.count(),
            func.coalesce(func.sum(DsrTask.attempts), 0),
        ).group_by(DsrTask.system, DsrTask.status, failed_before)
    ).all()
    by_status = dict.fromkeys(TaskStatus, 0)
    deliveries: dict[tuple[str, DeliveryStanding], tuple[int, int]] = {}
    for system, status_value, has_failed, tasks, attempts in rows:
        status = TaskStatus(status_value)
        by_status[status] += tasks
        standing = _STANDING_OF_FINAL.get(status) or (
            DeliveryStanding.RETRYING if has_failed else DeliveryStanding.PENDING
        )
        counted_tasks, counted_attempts = deliveries.get((system, standing), (0, 0))
        deliveries[(system, standing)] = (counted_tasks + tasks, counted_attempts + int(attempts))
    return TaskTallies(
        by_status=by_status,
        deliveries=[
            DeliveryTally(system=system, standing=standing, tasks=tasks, attempts=attempts)
            for (system, standing), (tasks, attempts) in sorted(deliveries.items())
        ],
    )
