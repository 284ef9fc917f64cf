"""A worker killed (``kill -9``) in the middle of a fan-out loses no task, and its retries reuse their ids.

A real ``privacy-service worker`` process delivers to two downstream systems
served over HTTP on loopback by this test: one answers at once, the other holds
each answer for a while, so deliveries are in flight when the worker dies. It
is killed with SIGKILL as soon as the slow system has received some, and a new
worker is started: the tasks the first one had leased are taken again once
their lease runs out (the delivery timeout plus ``LEASE_MARGIN``, kept short
here), the others at once. Every request ends completed, every task reached its
system, and a delivery sent again carries the ``webhook-id`` it had before.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from privacy_service.audit.actions import SYSTEM
from privacy_service.connectors import WebhookConnector
from privacy_service.core.clock import SystemClock
from privacy_service.core.db import create_session_factory
from privacy_service.dsr import service as dsr
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrRequest, DsrTask
from privacy_service.dsr.states import FINAL_REQUEST_STATUSES, RequestStatus, TaskStatus
from privacy_service.dsr.systems import register_system
from privacy_service.identity.principals import Principal, PrincipalKind
from privacy_service.identity.scopes import Scope
from privacy_service.keys.service import Keyring
from privacy_service.policy import RequestType, SystemRequestType, load_policies
from privacy_service.vault import service as vault
from privacy_service.vault.lookup import email_index
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Workplace
from tests.conftest import make_settings
from tests.e2e.conftest import WorkerProcess, service_environment, start_worker
from tests.support.downstream import FakeDownstream

pytestmark = pytest.mark.e2e

REQUESTS = 6
SLOW_ANSWER_SECONDS = 2.0
# Longer than the slow answer, so it completes once a worker lives long enough; short, so the lease of a
# task the killed worker held runs out soon (this plus LEASE_MARGIN, five seconds).
DELIVERY_TIMEOUT_SECONDS = 3.0
# Fewer places than tasks, so some tasks are still unleased when the worker dies.
DELIVERY_CONCURRENCY = 4

SHOP = Principal(
    kind=PrincipalKind.CLIENT,
    id="shop-backend",
    client_id="shop-backend",
    scopes=frozenset({Scope.DSR_WRITE}),
)


class Shop:
    """The service's database and keys as the API process sees them: requests are filed here."""

    def __init__(self, engine: Engine, data_dir: Path, env: dict[str, str], log_dir: Path) -> None:
        self.engine = engine
        self.env = env
        self.log_dir = log_dir
        clock = SystemClock()
        settings = make_settings(data_dir)
        keyring = Keyring.from_settings(settings, clock=clock)
        self.workplace = Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring)
        self.connector = WebhookConnector()  # never used to deliver here; the runtime wants one
        self.runtime = Fulfilment.from_settings(
            settings,
            policies=load_policies(settings.effective_policies_dir, environ=os.environ),
            connector=self.connector,
            keyring=keyring,
            emails=email_index(keyring.provider),
        )

    def register(self, system: FakeDownstream) -> None:
        with self.workplace.open() as work:
            register_system(
                work, policies=self.runtime.policies, actor=SYSTEM, name=system.name, url=system.url,
                secret=system.secret, request_types=(SystemRequestType.ACCESS, SystemRequestType.ERASURE),
                categories=("orders",), timeout_seconds=DELIVERY_TIMEOUT_SECONDS,
            )  # fmt: skip

    def file(self, index: int) -> str:
        with self.workplace.open() as work:
            subject = vault.create_subject(
                work, blind_index=self.runtime.emails,
                profile=ProfileFields(email=f"subject-{index}@example.com", country="DE"),
            )  # fmt: skip
            request = dsr.file_request(
                work, fulfilment=self.runtime, requester=SHOP,
                request_type=RequestType.ACCESS if index % 2 else RequestType.ERASURE, subject_id=subject.id,
            )  # fmt: skip
            return request.id

    def requests(self) -> list[DsrRequest]:
        with Session(self.engine) as session:
            return list(session.scalars(select(DsrRequest)).all())

    def tasks(self) -> list[DsrTask]:
        with Session(self.engine) as session:
            return list(session.scalars(select(DsrTask)).all())

    def all_ended(self) -> bool:
        return all(RequestStatus(request.status) in FINAL_REQUEST_STATUSES for request in self.requests())

    def start_worker(self, name: str) -> WorkerProcess:
        return start_worker(self.env, self.log_dir / f"{name}.log")


@pytest.fixture
def shop(tmp_path: Path, server_database: str, service_engine: Engine) -> Iterator[Shop]:
    data_dir = tmp_path / "data"
    env = service_environment(
        data_dir,
        server_database,
        PRIVACY_DELIVERY_TIMEOUT_SECONDS=str(DELIVERY_TIMEOUT_SECONDS),
        PRIVACY_DELIVERY_CONCURRENCY=str(DELIVERY_CONCURRENCY),
        PRIVACY_WORKER_POLL_SECONDS="0.05",
    )
    shop = Shop(service_engine, data_dir, env, tmp_path)
    yield shop
    shop.connector.close()


@pytest.fixture
def fast() -> Iterator[FakeDownstream]:
    with FakeDownstream(name="orders") as system:
        system.answer_completed({"orders": [{"id": "o-1"}]})
        yield system


@pytest.fixture
def slow() -> Iterator[FakeDownstream]:
    with FakeDownstream(name="invoices") as system:
        system.answer_completed({"invoices": []})
        system.delay_answers(SLOW_ANSWER_SECONDS)
        yield system


def test_a_worker_killed_mid_fan_out_loses_no_task_and_retries_reuse_their_webhook_id(
    shop: Shop, fast: FakeDownstream, slow: FakeDownstream
) -> None:
    shop.register(fast)
    shop.register(slow)
    filed = {shop.file(index) for index in range(REQUESTS)}

    first = shop.start_worker("first")
    try:
        first.wait_for(lambda: len(slow.deliveries) >= 2, "deliveries in flight to the slow system")
    finally:
        first.kill_9()
    assert first.process.returncode == -signal.SIGKILL
    before = {system.name: system.deliveries for system in (fast, slow)}
    unfinished = {task.webhook_id for task in shop.tasks() if task.status != TaskStatus.COMPLETED.value}
    in_flight = {delivery.webhook_id for delivery in before[slow.name]} & unfinished
    assert in_flight, "the worker died while deliveries to the slow system awaited their answers"
    assert not shop.all_ended(), "the worker died in the middle of the fan-out"

    second = shop.start_worker("second")
    try:
        second.wait_for(shop.all_ended, "every request to end")
    finally:
        second.stop()
    assert "Traceback" not in second.log()

    requests = shop.requests()
    assert {request.id for request in requests} == filed
    assert {request.status for request in requests} == {RequestStatus.COMPLETED.value}
    tasks = shop.tasks()
    assert len(tasks) == REQUESTS * 2
    assert {task.status for task in tasks} == {TaskStatus.COMPLETED.value}
    webhook_id_of = {task.id: task.webhook_id for task in tasks}
    for system in (fast, slow):
        received = system.deliveries
        # No task lost: each reached its system; and no delivery ever carried an id but its task's own.
        assert {delivery.webhook_id for delivery in received} == {
            task.webhook_id for task in tasks if task.system == system.name
        }
        assert all(delivery.webhook_id == webhook_id_of[delivery.task_id] for delivery in received)
    after = slow.deliveries[len(before[slow.name]) :]
    retried = {delivery.webhook_id for delivery in after}
    assert in_flight <= retried, "each delivery cut short by the kill was sent again with its webhook-id"
