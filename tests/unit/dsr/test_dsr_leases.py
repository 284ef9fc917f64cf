"""Leases: a task leased again after its lease ran out is reported by its newer attempt only."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from privacy_service.audit.actions import SYSTEM
from privacy_service.connectors import Completed, Failed
from privacy_service.core.clock import FrozenClock
from privacy_service.dsr import systems
from privacy_service.dsr.fanout import Lease, lease_due_tasks, record_outcome
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrRequest, DsrTask
from privacy_service.dsr.outbox import lease_for
from privacy_service.policy import RequestType, SystemRequestType
from privacy_service.work import Work

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def leased_twice(
    work: Work,
    fulfilment: Fulfilment,
    clock: FrozenClock,
    new_customer: Callable[..., str],
    file_request: Callable[..., DsrRequest],
) -> tuple[Lease, Lease]:
    """One access task, leased by a first worker and again by a second once the first one's lease ran out."""
    systems.register_system(
        work, policies=fulfilment.policies, actor=SYSTEM,
        name="orders", url="http://127.0.0.1:9/orders", secret=SECRET,
        request_types=[SystemRequestType.ACCESS], categories=[], timeout_seconds=2.0,
    )  # fmt: skip
    file_request(new_customer(), RequestType.ACCESS)
    [first] = lease_due_tasks(work, fulfilment=fulfilment, limit=10)
    assert lease_due_tasks(work, fulfilment=fulfilment, limit=10) == []  # leased
    clock.advance(lease_for(2.0) + timedelta(seconds=1))  # the first worker went quiet past its lease
    [second] = lease_due_tasks(work, fulfilment=fulfilment, limit=10)
    assert (first.task_id, first.attempt, second.attempt) == (second.task_id, 1, 2)
    assert first.delivery.webhook_id == second.delivery.webhook_id
    return first, second


def answer(work: Work, fulfilment: Fulfilment, lease: Lease, outcome: object) -> None:
    assert isinstance(outcome, Completed | Failed)
    record_outcome(
        work, fulfilment=fulfilment, task_id=lease.task_id, attempt=lease.attempt,
        outcome=outcome, rng=random.Random(0),
    )  # fmt: skip


def test_a_late_failure_of_an_earlier_attempt_leaves_the_newer_lease_alone(
    work: Work, session: Session, fulfilment: Fulfilment, leased_twice: tuple[Lease, Lease]
) -> None:
    first, second = leased_twice
    task = session.get(DsrTask, first.task_id)
    assert task is not None
    lease = task.lease_until

    answer(work, fulfilment, first, Failed(error="timed out after 2 s", retryable=True))
    assert (task.status, task.attempts, task.lease_until, task.last_error) == ("pending", 2, lease, None)

    answer(work, fulfilment, second, Failed(error="HTTP 503 from the system", retryable=True))
    assert (task.lease_until, task.last_error) == (None, "HTTP 503 from the system")


def test_a_late_completion_of_an_earlier_attempt_still_completes_the_task(
    work: Work, session: Session, fulfilment: Fulfilment, leased_twice: tuple[Lease, Lease]
) -> None:
    first, second = leased_twice
    answer(work, fulfilment, first, Completed(data={"orders": []}, retained=()))
    task = session.get(DsrTask, first.task_id)
    assert task is not None
    assert task.status == "completed"
    request = session.get(DsrRequest, first.request_id)
    assert request is not None
    assert request.status == "completed"

    # The newer attempt's answer, arriving after, changes nothing.
    answer(work, fulfilment, second, Failed(error="HTTP 503 from the system", retryable=True))
    assert (task.status, task.last_error) == ("completed", None)
