"""How each downstream system has been answering: its open tasks, those being retried, its latest tasks.

What the console shows beside the registry (``dsr.systems``): operations, not
anyone's data. A task's row holds ids, states, counts and the error that stopped
a delivery (written without personal data); what a system returned stays
encrypted and is not read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_service.dsr.models import DsrRequest, DsrTask
from privacy_service.dsr.states import OPEN_TASK_STATUSES, TaskStatus
from privacy_service.policy import RequestType

#: The latest tasks shown per system.
RECENT_TASKS = 10


@dataclass(frozen=True)
class Delivery:
    """One task of a system, as its delivery went."""

    task_id: str
    request_id: str
    request_type: RequestType
    status: TaskStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None  # only while the task is open
    completed_at: datetime | None


@dataclass(frozen=True)
class SystemDeliveries:
    """A system's open tasks, how many of them failed their last attempt, and its latest tasks."""

    open: int
    retrying: int
    recent: list[Delivery]


def deliveries_of(
    *, session: Session, systems: Iterable[str], recent: int = RECENT_TASKS
) -> dict[str, SystemDeliveries]:
    """Each of ``systems``' deliveries: one count over the open tasks, then one short range read per system.

    The counts read the open tasks only (``ix_dsr_tasks_status_next_attempt_at``); the latest tasks are
    the newest ids of the system (``ix_dsr_tasks_system_id``: ids sort by creation time).
    """
    names = list(systems)
    open_statuses = sorted(status.value for status in OPEN_TASK_STATUSES)
    counted = session.execute(
        select(DsrTask.system, func.count(), func.count(DsrTask.last_error))
        .where(DsrTask.status.in_(open_statuses), DsrTask.system.in_(names))
        .group_by(DsrTask.system)
    ).all()
    counts = {system: (int(open_count), int(retrying)) for system, open_count, retrying in counted}
    return {
        name: SystemDeliveries(
            open=counts.get(name, (0, 0))[0],
            retrying=counts.get(name, (0, 0))[1],
            recent=_latest_tasks(session=session, system=name, limit=recent),
        )
        for name in names
    }


def _latest_tasks(*, session: Session, system: str, limit: int) -> list[Delivery]:
    rows = session.execute(
        select(DsrTask, DsrRequest.type)
        .join(DsrRequest, DsrRequest.id == DsrTask.request_id)
        .where(DsrTask.system == system)
        .order_by(DsrTask.id.desc())
        .limit(limit)
    ).all()
    return [
        Delivery(
            task_id=task.id,
            request_id=task.request_id,
            request_type=RequestType(request_type),
            status=TaskStatus(task.status),
            attempts=task.attempts,
            last_error=task.last_error,
            next_attempt_at=None if TaskStatus(task.status).is_final else task.next_attempt_at,
            completed_at=task.completed_at,
        )
        for task, request_type in rows
    ]
