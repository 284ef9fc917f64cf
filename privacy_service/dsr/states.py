"""The life of a data subject request and of each of its tasks: states and the moves allowed between them.

A request goes ``received`` → (``awaiting_approval``) → ``in_progress`` → one of
``completed``, ``partially_completed``, ``failed`` or ``rejected`` (API.md). A
task (one downstream system's part of a request) is ``pending`` until it is
delivered, ``waiting`` when the system accepted it and will call back, and
ends ``completed``, ``failed`` or ``cancelled`` (its request was rejected).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class RequestStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    PARTIALLY_COMPLETED = "partially_completed"
    RECEIVED = "received"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self in FINAL_REQUEST_STATUSES


FINAL_REQUEST_STATUSES = frozenset(
    {RequestStatus.COMPLETED, RequestStatus.FAILED, RequestStatus.PARTIALLY_COMPLETED, RequestStatus.REJECTED}
)

#: Requests whose tasks the worker may deliver.
ACTIVE_REQUEST_STATUSES = frozenset({RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS})

REQUEST_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.RECEIVED: frozenset(
        {
            RequestStatus.AWAITING_APPROVAL,
            RequestStatus.IN_PROGRESS,
            RequestStatus.REJECTED,
            # A request with no downstream system to ask ends as soon as the worker sees it.
            RequestStatus.COMPLETED,
        }
    ),
    RequestStatus.AWAITING_APPROVAL: frozenset({RequestStatus.IN_PROGRESS, RequestStatus.REJECTED}),
    RequestStatus.IN_PROGRESS: frozenset(
        {RequestStatus.COMPLETED, RequestStatus.PARTIALLY_COMPLETED, RequestStatus.FAILED}
    ),
    RequestStatus.COMPLETED: frozenset(),
    RequestStatus.PARTIALLY_COMPLETED: frozenset(),
    RequestStatus.FAILED: frozenset(),
    RequestStatus.REJECTED: frozenset(),
}


class TaskStatus(StrEnum):
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"
    PENDING = "pending"
    WAITING = "waiting"

    @property
    def is_final(self) -> bool:
        return self in FINAL_TASK_STATUSES


FINAL_TASK_STATUSES = frozenset({TaskStatus.CANCELLED, TaskStatus.COMPLETED, TaskStatus.FAILED})
#: Tasks that still expect an answer: a delivery to make, or a callback to receive.
OPEN_TASK_STATUSES = frozenset({TaskStatus.PENDING, TaskStatus.WAITING})


class RejectionReason(StrEnum):
    """Why an officer refused a request (GDPR Art. 12(5), Art. 11(2), Art. 17(3))."""

    EXCESSIVE = "excessive"
    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    LEGAL_OBLIGATION = "legal_obligation"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"
    OTHER = "other"


def final_status(task_statuses: list[TaskStatus]) -> RequestStatus:
    """How a request ends once every task has: all answered, some, or none (no task at all is complete)."""
    completed = sum(1 for status in task_statuses if status is TaskStatus.COMPLETED)
    if completed == len(task_statuses):
        return RequestStatus.COMPLETED
    if completed == 0:
        return RequestStatus.FAILED
    return RequestStatus.PARTIALLY_COMPLETED


class NoticeKind(StrEnum):
    """What a notice tells the subject (API.md): every request is acknowledged as soon as it is received."""

    ACKNOWLEDGED = "acknowledged"
    COMPLETED = "completed"
    EXTENDED = "extended"
    REJECTED = "rejected"


class NoticeDeliveryStatus(StrEnum):
    """One notice system's copy of a notice: ``pending`` until it takes it, or it fails for good."""

    DELIVERED = "delivered"
    FAILED = "failed"
    PENDING = "pending"
