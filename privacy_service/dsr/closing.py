"""How tasks and requests end: a task completes or fails; a request ends once none of its tasks is open.

Ending an access request builds its export bundle; ending an erasure request
erases the subject here too (``erasure.py``), last, because every system had
to be told who to erase, and the completion notice addressed (``notices.py``).
Both happen in the transaction that closes the last task, with the
``dsr_complete`` event, so a request is never left completed without its
bundle, its erasure or its notice.
"""

from __future__ import annotations

import contextlib
import json

from sqlalchemy import exists, select

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, PartyType
from privacy_service.connectors import Completed
from privacy_service.dsr.bundle import store_export
from privacy_service.dsr.encryption import RESULT_COLUMN
from privacy_service.dsr.erasure import erase_locally
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import ERROR_LENGTH, DsrRequest, DsrTask
from privacy_service.dsr.notices import NoticeDetails, retained_facts, write_notice
from privacy_service.dsr.states import (
    ACTIVE_REQUEST_STATUSES,
    OPEN_TASK_STATUSES,
    NoticeKind,
    RequestStatus,
    TaskStatus,
    final_status,
)
from privacy_service.keys.errors import SubjectKeyDestroyed, SubjectKeyNotFound
from privacy_service.policy import RequestType
from privacy_service.vault.errors import SubjectNotFound
from privacy_service.work import Work


def _request_party(request_id: str) -> Party:
    return Party(type=PartyType.DSR, id=request_id)


def _system_party(name: str) -> Party:
    return Party(type=PartyType.DOWNSTREAM_SYSTEM, id=name)


def complete_task(
    work: Work, *, fulfilment: Fulfilment, task: DsrTask, request: DsrRequest, answer: Completed
) -> None:
    """A system answered: keep what it holds (encrypted under the subject's key) and what it keeps back."""
    task.status = TaskStatus.COMPLETED.value
    task.completed_at = work.clock.now()
    task.lease_until = None
    task.last_error = None
    if answer.data:
        try:
            fields = work.subject_fields(table=DsrTask.__tablename__, subject_id=request.subject_id)
            task.result = fields.encrypt_json(RESULT_COLUMN, answer.data)
        except (SubjectKeyDestroyed, SubjectKeyNotFound):
            task.result = None  # the subject was erased meanwhile: what came back about them is not kept
    task.retained = (
        json.dumps(
            [
                {"category": item.category, "reason": item.reason, "until": item.until}
                for item in answer.retained
            ]
        )
        if answer.retained
        else None
    )
    audit.record(
        work,
        actor=_system_party(task.system),
        action=Action.DSR_TASK_COMPLETE,
        target=_request_party(request.id),
        outcome=Outcome.SUCCESS,
        details={"task_id": task.id, "attempts": task.attempts, "retained": len(answer.retained)},
    )


def fail_task(work: Work, *, fulfilment: Fulfilment, task: DsrTask, request: DsrRequest, error: str) -> None:
    """A task that will not complete: it ends with the error that stopped it (no personal data in it)."""
    task.status = TaskStatus.FAILED.value
    task.lease_until = None
    task.last_error = error[:ERROR_LENGTH]
    audit.record(
        work,
        actor=_system_party(task.system),
        action=Action.DSR_TASK_FAIL,
        target=_request_party(request.id),
        outcome=Outcome.FAILURE,
        details={"task_id": task.id, "attempts": task.attempts, "error": task.last_error},
    )


def close_request_if_done(work: Work, *, fulfilment: Fulfilment, request_id: str) -> bool:
    """End the request if none of its tasks is open; True when it ended now."""
    request = work.session.scalar(select(DsrRequest).where(DsrRequest.id == request_id).with_for_update())
    if request is None or RequestStatus(request.status) not in ACTIVE_REQUEST_STATUSES:
        return False
    statuses = [
        TaskStatus(status)
        for status in work.session.scalars(select(DsrTask.status).where(DsrTask.request_id == request_id))
    ]
    if any(status in OPEN_TASK_STATUSES for status in statuses):
        return False
    outcome = final_status(statuses)
    export = None
    if RequestType(request.type) is RequestType.ACCESS:
        # A subject erased meanwhile leaves nobody to hand a copy to: the request ends without one.
        with contextlib.suppress(SubjectKeyDestroyed, SubjectKeyNotFound, SubjectNotFound):
            export = store_export(work, fulfilment=fulfilment, request=request)
    request.status = outcome.value
    request.completed_at = work.clock.now()
    # Written before an erasure, which takes the subject's address with it; the notice keeps its own copy.
    write_notice(
        work,
        fulfilment=fulfilment,
        request=request,
        kind=NoticeKind.COMPLETED,
        details=NoticeDetails(
            export_until=export.expires_at if export is not None else None,
            retained=retained_facts(work, request_id=request.id),
        ),
    )
    if RequestType(request.type) is RequestType.ERASURE:
        erase_locally(work, fulfilment=fulfilment, request=request)
    audit.record(
        work,
        actor=SYSTEM,
        action=Action.DSR_COMPLETE,
        target=_request_party(request.id),
        outcome=Outcome.SUCCESS if outcome is RequestStatus.COMPLETED else Outcome.FAILURE,
        details={
            "status": outcome.value,
            "type": request.type,
            "systems_completed": statuses.count(TaskStatus.COMPLETED),
            "systems_failed": statuses.count(TaskStatus.FAILED),
        },
    )
    return True


def fail_overdue_tasks(work: Work, *, fulfilment: Fulfilment, limit: int = 500) -> int:
    """Fail the open tasks of requests whose deadline has passed, with their last error; return how many."""
    now = work.clock.now()
    rows = work.session.execute(
        select(DsrTask, DsrRequest)
        .join(DsrRequest, DsrTask.request_id == DsrRequest.id)
        .where(
            DsrTask.status.in_([status.value for status in OPEN_TASK_STATUSES]),
            DsrRequest.status.in_([status.value for status in ACTIVE_REQUEST_STATUSES]),
            DsrRequest.due_at <= now,
            (DsrTask.lease_until.is_(None)) | (DsrTask.lease_until < now),
        )
        .limit(limit)
        .with_for_update(of=DsrTask, skip_locked=True)
    ).all()
    for task, request in rows:
        if task.status == TaskStatus.WAITING.value:
            reason = "the system accepted the request but did not call back before the deadline"
        elif task.last_error:
            reason = f"{task.last_error}; the deadline passed"
        else:
            reason = "the deadline passed before the system could be reached"
        fail_task(work, fulfilment=fulfilment, task=task, request=request, error=reason)
    return len(rows)


def close_finished_requests(work: Work, *, fulfilment: Fulfilment, limit: int = 100) -> int:
    """End active requests none of whose tasks is open (those with no system at all, or after a crash)."""
    open_task = exists().where(
        DsrTask.request_id == DsrRequest.id,
        DsrTask.status.in_([status.value for status in OPEN_TASK_STATUSES]),
    )
    request_ids = work.session.scalars(
        select(DsrRequest.id)
        .where(DsrRequest.status.in_([status.value for status in ACTIVE_REQUEST_STATUSES]), ~open_task)
        .order_by(DsrRequest.received_at)
        .limit(limit)
    ).all()
    return sum(
        close_request_if_done(work, fulfilment=fulfilment, request_id=request_id)
        for request_id in request_ids
    )
