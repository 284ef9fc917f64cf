"""A downstream system completing its task later: ``POST /v1/dsr/callbacks/{task_id}``, signed.

The callback is signed with the system's own Standard Webhooks secret and
checked against the injected clock (five minutes either way), so a forged
callback is refused and an old one cannot be replayed later.

A signature covers the body and headers, not the URL, so it alone would let a
callback captured on its way to one task complete another task of the same
system. Two checks bind a callback to its task (API.md "What downstream
systems receive"): the signed body must name the ``task_id`` of the URL, and a
``webhook-id`` is accepted once per system across all its tasks (a receipt
keyed by system and id, unique in the database, so two concurrent replays
cannot both pass). A signed callback refused for either reason, or for a task
that has already ended, leaves the task as it was and is recorded in the audit
trail (``dsr_callback_refuse``), because it is a system's mistake or a captured
callback replayed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, Party, PartyType
from privacy_service.connectors import InvalidSignature, callback_task_id, parse_completion, verify_signature
from privacy_service.dsr.closing import close_request_if_done, complete_task
from privacy_service.dsr.errors import (
    CallbackForAnotherTask,
    CallbackRefused,
    CallbackReplayed,
    CallbackTaskIdMissing,
    TaskClosed,
    TaskNotFound,
)
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import CallbackReceipt, DsrRequest, DsrTask
from privacy_service.dsr.states import TaskStatus
from privacy_service.dsr.systems import find_target
from privacy_service.work import Work


def receive_callback(
    work: Work, *, fulfilment: Fulfilment, task_id: str, headers: Mapping[str, str], body: bytes
) -> DsrTask:
    """Check the signature and the binding to the task, complete it and, if it was the last, the request."""
    task = work.session.scalar(select(DsrTask).where(DsrTask.id == task_id).with_for_update())
    if task is None:
        raise TaskNotFound()
    target = find_target(work, policies=fulfilment.policies, name=task.system)
    if target is None:
        raise InvalidSignature("The system of this task is no longer registered.")
    webhook_id = verify_signature(secret=target.secret, headers=headers, body=body, now=work.clock.now())
    try:
        _take_for(work, task=task, webhook_id=webhook_id, body=body)
    except CallbackRefused as refusal:
        audit.record(
            work,
            actor=Party(type=PartyType.DOWNSTREAM_SYSTEM, id=task.system),
            action=Action.DSR_CALLBACK_REFUSE,
            target=Party(type=PartyType.DSR, id=task.request_id),
            outcome=Outcome.FAILURE,
            details={"task_id": task.id, "reason": refusal.code},
        )
        work.keep_when_refused()  # an officer must see the refusal: its event commits
        raise
    answer = parse_completion(body)
    request = work.session.get(DsrRequest, task.request_id)
    assert request is not None
    complete_task(work, fulfilment=fulfilment, task=task, request=request, answer=answer)
    close_request_if_done(work, fulfilment=fulfilment, request_id=request.id)
    return task


def _take_for(work: Work, *, task: DsrTask, webhook_id: str, body: bytes) -> None:
    """Take a signed callback for ``task`` (its receipt), or raise the ``CallbackRefused`` that says why."""
    named = callback_task_id(body)
    if named is None:
        raise CallbackTaskIdMissing("The signed body must name the task it completes: task_id.")
    if named != task.id:
        raise CallbackForAnotherTask("The signed body names another task than the URL.")
    if work.session.get(CallbackReceipt, (task.system, webhook_id)) is not None:
        raise CallbackReplayed()
    if TaskStatus(task.status).is_final:
        raise TaskClosed(f"The task has already ended ({task.status}).")
    try:
        with work.savepoint():
            work.session.add(
                CallbackReceipt(
                    system=task.system, webhook_id=webhook_id, task_id=task.id, received_at=work.clock.now()
                )
            )
    except IntegrityError:
        raise CallbackReplayed() from None  # the same webhook-id, twice at once (for any of its tasks)
