"""Two workers on one PostgreSQL database never deliver the same task at once.

Each worker is what a separate ``privacy-service worker`` process holds: an
engine and session factory of its own, its own keyring, connector and
``FanOut``. They share only the database, where ``FOR UPDATE SKIP LOCKED``
and the lease decide who sends what. The database is a scratch one, migrated
and committed to for real (not the rolled-back test transaction), since the
two workers must see each other's commits. The downstream systems are real
HTTP servers on loopback that answer slowly, so deliveries of one worker are
still in flight while the other leases.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from privacy_service.audit.actions import SYSTEM
from privacy_service.connectors import WebhookConnector
from privacy_service.core import migrations
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.core.db import create_engine_for, create_session_factory
from privacy_service.dsr import service as dsr
from privacy_service.dsr.fanout import FanOut
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.jobs import close_requests_job
from privacy_service.dsr.models import DsrRequest, DsrTask
from privacy_service.dsr.states import FINAL_REQUEST_STATUSES, RequestStatus
from privacy_service.dsr.systems import register_system
from privacy_service.identity.principals import Principal, PrincipalKind
from privacy_service.identity.scopes import Scope
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.provider import key_provider_for
from privacy_service.keys.service import Keyring
from privacy_service.policy import RequestType, SystemRequestType, load_policies
from privacy_service.vault import service as vault
from privacy_service.vault.lookup import email_index
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Workplace
from tests.conftest import make_settings, requires_postgres, scratch_database
from tests.support.downstream import FakeDownstreamFleet

pytestmark = [requires_postgres, pytest.mark.postgres]

REQUESTS = 20
ANSWER_DELAY_SECONDS = 0.2
# Few places per worker, so the tasks are shared out over many rounds of leases by both workers.
DELIVERY_CONCURRENCY = 4
# Generous: a loaded machine may be slow; the test never asserts on time, it only stops waiting.
PATIENCE_SECONDS = 120

SHOP = Principal(
    kind=PrincipalKind.CLIENT,
    id="shop-backend",
    client_id="shop-backend",
    scopes=frozenset({Scope.DSR_WRITE}),
)


@dataclass
class WorkerProcess:
    """What one ``privacy-service worker`` process holds: its own engine, units of work, keys and fan-out."""

    engine: Engine
    workplace: Workplace
    fulfilment: Fulfilment
    fanout: FanOut
    leased: int = 0

    def deliver_round(self) -> int:
        """Lease what is due and free, and wait for those deliveries' outcomes to be recorded."""
        leased = self.fanout.run_once()
        self.fanout.wait(timeout=PATIENCE_SECONDS)
        self.leased += leased
        with self.workplace.open() as work:  # the worker's other DSR job, as every worker runs it
            close_requests_job(self.fulfilment)(work)
        return leased

    def close(self) -> None:
        self.fanout.close()
        self.fulfilment.connector.close()  # type: ignore[attr-defined]
        self.engine.dispose()


def start_worker(settings: Settings, url: str, clock: FrozenClock) -> WorkerProcess:
    engine = create_engine_for(settings, database_url=url)
    keyring = Keyring(
        provider=key_provider_for(settings),
        clock=clock,
        cache=DataKeyCache(max_entries=1000, ttl_seconds=300),
    )
    fulfilment = Fulfilment.from_settings(
        settings,
        policies=load_policies(settings.effective_policies_dir, environ=os.environ),
        connector=WebhookConnector(),
        keyring=keyring,
        emails=email_index(keyring.provider),
    )
    workplace = Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring)
    return WorkerProcess(
        engine=engine,
        workplace=workplace,
        fulfilment=fulfilment,
        fanout=FanOut(workplace=workplace, fulfilment=fulfilment),
    )


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path / "data"), database_url=url)
        migrations.upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture
def systems() -> Iterator[FakeDownstreamFleet]:
    with FakeDownstreamFleet(2, prefix="slow") as fleet:
        for system in fleet:
            system.answer_completed({"orders": []})
            system.delay_answers(ANSWER_DELAY_SECONDS)
        yield fleet


def register(worker: WorkerProcess, systems: FakeDownstreamFleet) -> None:
    with worker.workplace.open() as work:
        for system in systems:
            register_system(
                work, policies=worker.fulfilment.policies, actor=SYSTEM, name=system.name, url=system.url,
                secret=system.secret, request_types=(SystemRequestType.ACCESS, SystemRequestType.ERASURE),
                categories=("orders",), timeout_seconds=5.0,
            )  # fmt: skip


def file_requests(worker: WorkerProcess, count: int) -> list[str]:
    """Half access, half erasure, each for a subject of its own, filed by the shop backend."""
    fulfilment = worker.fulfilment
    filed: list[str] = []
    for index in range(count):
        with worker.workplace.open() as work:
            subject = vault.create_subject(
                work, blind_index=fulfilment.emails,
                profile=ProfileFields(email=f"subject-{index}@example.com", country="DE"),
            )  # fmt: skip
            request = dsr.file_request(
                work, fulfilment=fulfilment, requester=SHOP,
                request_type=RequestType.ACCESS if index % 2 else RequestType.ERASURE, subject_id=subject.id,
            )  # fmt: skip
            filed.append(request.id)
    return filed


def open_requests(engine: Engine) -> int:
    with Session(engine) as session:
        statuses = session.scalars(select(DsrRequest.status)).all()
    return sum(RequestStatus(status) not in FINAL_REQUEST_STATUSES for status in statuses)


def test_two_workers_never_deliver_the_same_task_and_every_request_completes(
    tmp_path: Path, database: str, systems: FakeDownstreamFleet, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FrozenClock()  # leases never run out on their own: a second delivery could only be a race
    settings = make_settings(
        tmp_path / "data", database_url=database, delivery_concurrency=DELIVERY_CONCURRENCY
    )
    workers = [start_worker(settings, database, clock) for _ in range(2)]
    try:
        register(workers[0], systems)
        filed = file_requests(workers[0], REQUESTS)

        caplog.set_level(logging.WARNING, logger="privacy_service")
        deadline = time.monotonic() + PATIENCE_SECONDS
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="worker") as pool:
            while open_requests(workers[0].engine):
                assert time.monotonic() < deadline, "gave up waiting for every request to end"
                rounds = [pool.submit(worker.deliver_round) for worker in workers]
                leased = [each.result() for each in rounds]  # a lease that failed raises here
                assert sum(leased) or open_requests(workers[0].engine) == 0, "open requests, nothing due"
    finally:
        for worker in workers:
            worker.close()

    assert [record.getMessage() for record in caplog.records] == []
    assert all(worker.leased > 0 for worker in workers), "both workers took a share of the deliveries"

    engine = create_engine_for(settings, database_url=database)
    try:
        with Session(engine) as session:
            requests = session.scalars(select(DsrRequest).where(DsrRequest.id.in_(filed))).all()
            tasks = session.scalars(select(DsrTask)).all()
    finally:
        engine.dispose()
    assert {request.status for request in requests} == {RequestStatus.COMPLETED.value}
    assert len(tasks) == REQUESTS * len(systems)
    for system in systems:
        expected = {task.webhook_id for task in tasks if task.system == system.name}
        received = Counter(delivery.webhook_id for delivery in system.deliveries)
        assert set(received) == expected
        assert [webhook_id for webhook_id, times in received.items() if times != 1] == []
    assert sum(worker.leased for worker in workers) == len(tasks)
