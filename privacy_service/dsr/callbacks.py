"""A downstream system completing its task later: ``POST /v1/dsr/callbacks/{task_id}``, signed.

The callback is signed with the system's own Standard Webhooks secret and
checked against the injected clock (five minutes either way), so a forged
callback is refused and an old one cannot be replayed later; a ``webhook-id``
already taken for the task is refused too, so a captured callback cannot be
replayed within those five minutes either.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacy_service.connectors import InvalidSignature, parse_completion, verify_signature
from privacy_service.core.clock import Clock
from privacy_service.dsr.closing import close_request_if_done, complete_task
from privacy_service.dsr.errors import CallbackReplayed, TaskClosed, TaskNotFound
from privacy_service.dsr.models import CallbackReceipt, DsrRequest, DsrTask
from privacy_service.dsr.runtime import DsrRuntime
from privacy_service.dsr.states import TaskStatus
from privacy_service.dsr.systems import find_target


def receive_callback(
    *,
    session: Session,
    runtime: DsrRuntime,
    clock: Clock,
    task_id: str,
    headers: Mapping[str, str],
    body: bytes,
) -> DsrTask:
    """Check the signature, refuse replays, complete the task and, if it was the last, the request."""
    task = session.scalar(select(DsrTask).where(DsrTask.id == task_id).with_for_update())
    if task is None:
        raise TaskNotFound()
    target = find_target(
        session=session, keyring=runtime.keyring, policies=runtime.policies, name=task.system
    )
    if target is None:
        raise InvalidSignature("The system of this task is no longer registered.")
    webhook_id = verify_signature(secret=target.secret, headers=headers, body=body, now=clock.now())
    if session.get(CallbackReceipt, (task.id, webhook_id)) is not None:
        raise CallbackReplayed()
    if TaskStatus(task.status).is_final:
        raise TaskClosed(f"The task has already ended ({task.status}).")
    answer = parse_completion(body)
    try:
        with session.begin_nested():
            session.add(CallbackReceipt(task_id=task.id, webhook_id=webhook_id, received_at=clock.now()))
    except IntegrityError:
        raise CallbackReplayed() from None  # the same callback, twice at once
    request = session.get(DsrRequest, task.request_id)
    assert request is not None
    complete_task(session=session, runtime=runtime, clock=clock, task=task, request=request, answer=answer)
    close_request_if_done(session=session, runtime=runtime, clock=clock, request_id=request.id)
    return task
