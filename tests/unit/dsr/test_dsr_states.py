"""How a request ends from its tasks' outcomes, and that a final state is final."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from privacy_service.dsr.errors import InvalidTransition
from privacy_service.dsr.models import DsrRequest
from privacy_service.dsr.service import move
from privacy_service.dsr.states import (
    FINAL_REQUEST_STATUSES,
    REQUEST_TRANSITIONS,
    RequestStatus,
    TaskStatus,
    final_status,
)

RECEIVED_AT = datetime(2026, 1, 15, 12, tzinfo=UTC)


def request_in(status: RequestStatus) -> DsrRequest:
    return DsrRequest(id="01REQUEST", type="access", status=status.value, subject_id="01SUBJECT",
                      jurisdiction="eu_gdpr", received_at=RECEIVED_AT, due_at=RECEIVED_AT,
                      filed_by_type="client", filed_by_id="01CLIENT")  # fmt: skip


def test_a_request_whose_every_task_completed_is_completed() -> None:
    assert final_status([TaskStatus.COMPLETED, TaskStatus.COMPLETED]) is RequestStatus.COMPLETED


@pytest.mark.parametrize(
    "tasks",
    [
        [TaskStatus.COMPLETED, TaskStatus.FAILED],
        [TaskStatus.FAILED, TaskStatus.COMPLETED, TaskStatus.CANCELLED],
    ],
)
def test_a_request_with_some_tasks_completed_is_partially_completed(tasks: list[TaskStatus]) -> None:
    assert final_status(tasks) is RequestStatus.PARTIALLY_COMPLETED


@pytest.mark.parametrize("tasks", [[TaskStatus.FAILED], [TaskStatus.FAILED, TaskStatus.CANCELLED]])
def test_a_request_with_no_task_completed_has_failed(tasks: list[TaskStatus]) -> None:
    assert final_status(tasks) is RequestStatus.FAILED


def test_a_request_with_no_downstream_system_to_ask_is_completed() -> None:
    assert final_status([]) is RequestStatus.COMPLETED


def test_every_status_has_its_transitions_and_only_final_ones_have_none() -> None:
    assert set(REQUEST_TRANSITIONS) == set(RequestStatus)
    assert {status for status, moves in REQUEST_TRANSITIONS.items() if not moves} == FINAL_REQUEST_STATUSES
    assert all(status.is_final for status in FINAL_REQUEST_STATUSES)


@pytest.mark.parametrize("final", sorted(FINAL_REQUEST_STATUSES))
@pytest.mark.parametrize("to", sorted(RequestStatus))
def test_a_request_in_a_final_state_cannot_move_anywhere(final: RequestStatus, to: RequestStatus) -> None:
    request = request_in(final)
    with pytest.raises(InvalidTransition) as refused:
        move(request, to)
    assert refused.value.code == "invalid_transition"
    assert request.status == final.value


def test_a_request_cannot_skip_its_work_and_go_from_awaiting_approval_to_completed() -> None:
    request = request_in(RequestStatus.AWAITING_APPROVAL)
    with pytest.raises(InvalidTransition):
        move(request, RequestStatus.COMPLETED)
    assert request.status == RequestStatus.AWAITING_APPROVAL.value


def test_an_allowed_move_changes_the_status() -> None:
    request = request_in(RequestStatus.AWAITING_APPROVAL)
    move(request, RequestStatus.IN_PROGRESS)
    assert request.status == RequestStatus.IN_PROGRESS.value
