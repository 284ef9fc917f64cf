"""Fan-out of data subject requests: one request over many slow systems; a thousand drained by two workers.

One command, on loopback. The downstream systems are the test suite's fakes
(``tests/support/downstream.py``: real HTTP servers that verify every Standard
Webhooks signature with the reference library), run in a child process of their
own so their threads do not share an interpreter with the service they measure.
Settings are the production defaults (every ``PRIVACY_*`` variable of the
caller's environment is dropped), with a temporary data directory; subjects
are created with ``vault.create_subject`` and requests filed with
``dsr.service.file_request`` by a shop backend, as ``POST /v1/dsr`` does.

**Latency** (issue "Data subject requests", goal: under 2x the slowest
system). One access request over ``--systems`` systems (default 50) that each
answer after ``--answer-ms`` (default 300 ms), delivered by the real worker
loop (``build_worker``, the loop of ``serve`` and ``privacy-service worker``)
running in a thread, with the real webhook connector, on the embedded SQLite
database by default (``--latency-database postgres`` for a scratch PostgreSQL
one). Measured per run from the request's ``received_at`` (taken before the
filing transaction commits) to its ``completed_at`` (when the transaction
that closed its last task, and built its export bundle, ran), both on the wall
clock; the median of ``--runs`` runs counts. Printed with it, from the fakes'
receipts: when the first and the last delivery arrived, so the time splits
into picking the request up, sending, the systems' answer, and recording.

**Drain** (issue: deliveries per second and the time to drain). ``--requests``
access requests (default 1,000) over ``--drain-systems`` systems (default 10)
that answer at once (``--drain-answer-ms``), on a scratch PostgreSQL database
(``--database-url`` is the admin connection; the database is created, migrated
and dropped afterwards), delivered by ``--workers`` (default 2)
``privacy-service worker`` processes. The workers are started first and idle;
the requests are then filed in one transaction, so the whole queue appears at
once, and the clock runs from its commit until the last request is completed.
Deliveries per second counts the signed deliveries the fakes accepted; the
workers' CPU seconds are read from ``/proc``.

    .venv/bin/python benchmarks/fanout.py [--skip latency|drain] [--runs 5] [--systems 50]
        [--answer-ms 300] [--latency-database sqlite|postgres] [--requests 1000] [--drain-systems 10]
        [--drain-answer-ms 0] [--workers 2] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Everything (the service, its workers, the fakes, PostgreSQL, this script) shares
the machine's cores: compare runs on a quiet machine, not single figures.
Exits 1 when the latency goal is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# The fakes live in the test suite; the benchmark runs from the repository root or from benchmarks/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Production defaults: nothing from the caller's environment or .env file.
for _name in [name for name in os.environ if name.upper().startswith("PRIVACY_")]:
    del os.environ[_name]

from sqlalchemy import Engine, create_engine, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from privacy_service.audit.actions import SYSTEM  # noqa: E402
from privacy_service.connectors import WebhookConnector  # noqa: E402
from privacy_service.core import migrations  # noqa: E402
from privacy_service.core.clock import SystemClock  # noqa: E402
from privacy_service.core.config import Settings  # noqa: E402
from privacy_service.core.db import create_engine_for, create_session_factory  # noqa: E402
from privacy_service.dsr import service as dsr  # noqa: E402
from privacy_service.dsr.fulfilment import Fulfilment  # noqa: E402
from privacy_service.dsr.models import DsrRequest, DsrTask  # noqa: E402
from privacy_service.dsr.states import ACTIVE_REQUEST_STATUSES, RequestStatus  # noqa: E402
from privacy_service.dsr.systems import register_system  # noqa: E402
from privacy_service.identity.principals import Principal, PrincipalKind  # noqa: E402
from privacy_service.identity.scopes import Scope  # noqa: E402
from privacy_service.keys.service import Keyring  # noqa: E402
from privacy_service.policy import RequestType, SystemRequestType, load_policies  # noqa: E402
from privacy_service.vault import service as vault  # noqa: E402
from privacy_service.vault.lookup import email_index  # noqa: E402
from privacy_service.vault.schemas import ProfileFields  # noqa: E402
from privacy_service.work import Workplace  # noqa: E402
from privacy_service.worker import build_worker  # noqa: E402

from scratch import scratch_database  # noqa: E402

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GOAL_VERSUS_SLOWEST = 2.0
PATIENCE_SECONDS = 600
SHOP = Principal(
    kind=PrincipalKind.CLIENT, id="bench-shop", client_id="bench-shop", scopes=frozenset({Scope.DSR_WRITE})
)


# --- The downstream systems, in a process of their own -------------------------------------------------


@dataclass(frozen=True)
class SystemAddress:
    name: str
    url: str
    secret: str


@dataclass(frozen=True)
class Receipt:
    webhook_id: str
    request_id: str
    at: float  # wall clock, Unix seconds


def _serve_fleet(count: int, prefix: str, answer_seconds: float, control: Connection) -> None:
    from tests.support.downstream import FakeDownstreamFleet

    with FakeDownstreamFleet(count, prefix=prefix, check_timestamp=True) as fleet:
        for system in fleet:
            system.answer_completed({"items": [{"id": "item-1"}]})
            if answer_seconds:
                system.delay_answers(answer_seconds)
        control.send([SystemAddress(system.name, system.url, system.secret) for system in fleet])
        while control.recv() == "receipts":
            control.send(
                [
                    Receipt(
                        delivery.webhook_id,
                        str(delivery.payload["request_id"]),
                        delivery.received_at.timestamp(),
                    )
                    for delivery in fleet.deliveries
                ]
            )
        control.send([reason for system in fleet for reason in system.rejections])


class Fleet:
    """``count`` fake systems answering after ``answer_seconds``, served by a child process."""

    def __init__(self, count: int, *, prefix: str, answer_seconds: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self._process = context.Process(
            target=_serve_fleet, args=(count, prefix, answer_seconds, child), name="fake-systems", daemon=True
        )
        self._process.start()
        self.systems: list[SystemAddress] = self._control.recv()
        self.rejections: list[str] = []

    def receipts(self) -> list[Receipt]:
        self._control.send("receipts")
        receipts: list[Receipt] = self._control.recv()
        return receipts

    def stop(self) -> None:
        self._control.send("stop")
        self.rejections = self._control.recv()
        self._process.join(30)


@contextmanager
def fake_systems(count: int, *, prefix: str, answer_seconds: float) -> Iterator[Fleet]:
    fleet = Fleet(count, prefix=prefix, answer_seconds=answer_seconds)
    try:
        yield fleet
    finally:
        fleet.stop()


# --- The service's side -------------------------------------------------------------------------------


class Service:
    """The database, keys, policies and fulfilment of one temporary installation, as the API holds them."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.database_url = database_url
        self.settings = Settings(_env_file=None, data_dir=data_dir, database_url=database_url)
        self.engine: Engine = create_engine_for(self.settings)
        migrations.upgrade(self.engine)
        clock = SystemClock()
        keyring = Keyring.from_settings(self.settings, clock=clock)
        self.workplace = Workplace(sessions=create_session_factory(self.engine), clock=clock, keyring=keyring)
        self.connector = WebhookConnector()
        self.fulfilment = Fulfilment.from_settings(
            self.settings,
            policies=load_policies(self.settings.effective_policies_dir, environ=os.environ),
            connector=self.connector,
            keyring=keyring,
            emails=email_index(keyring.provider),
        )
        self._subjects = 0

    def register(self, systems: Sequence[SystemAddress], *, timeout_seconds: float) -> None:
        with self.workplace.open() as work:
            for system in systems:
                register_system(
                    work, policies=self.fulfilment.policies,
                    actor=SYSTEM, name=system.name, url=system.url, secret=system.secret,
                    request_types=(SystemRequestType.ACCESS, SystemRequestType.ERASURE),
                    categories=("orders",), timeout_seconds=timeout_seconds,
                )  # fmt: skip

    def create_subjects(self, count: int, *, batch: int = 100) -> list[str]:
        created: list[str] = []
        while len(created) < count:
            with self.workplace.open() as work:
                for _ in range(min(batch, count - len(created))):
                    self._subjects += 1
                    subject = vault.create_subject(
                        work, blind_index=self.fulfilment.emails,
                        profile=ProfileFields(email=f"subject-{self._subjects}@example.com", country="DE"),
                    )  # fmt: skip
                    created.append(subject.id)
        return created

    def file_access_requests(self, subject_ids: Sequence[str]) -> list[str]:
        """File one access request per subject, all in one transaction (they become due together)."""
        with self.workplace.open() as work:
            return [
                dsr.file_request(
                    work, fulfilment=self.fulfilment, requester=SHOP,
                    request_type=RequestType.ACCESS, subject_id=subject_id,
                ).id
                for subject_id in subject_ids
            ]  # fmt: skip

    def reader(self) -> Engine:
        """A plain engine for polling (on SQLite, without the service's BEGIN IMMEDIATE write lock)."""
        url = self.database_url or self.settings.effective_database_url
        return create_engine(url) if url.startswith("sqlite") else create_engine(url, pool_size=1)

    def close(self) -> None:
        self.connector.close()
        self.engine.dispose()

    def environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        environment["PRIVACY_DATA_DIR"] = str(self.data_dir)
        if self.database_url is not None:
            environment["PRIVACY_DATABASE_URL"] = self.database_url
        return environment


def active_requests(reader: Engine) -> int:
    active = [status.value for status in ACTIVE_REQUEST_STATUSES]
    with Session(reader) as session:
        return (
            session.scalar(select(func.count()).select_from(DsrRequest).where(DsrRequest.status.in_(active)))
            or 0
        )


def wait_until(condition: Any, *, what: str, every: float) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(every)


# --- Latency: one request over many slow systems ------------------------------------------------------


@dataclass(frozen=True)
class LatencyRun:
    total: float  # received_at -> completed_at
    committed: float  # received_at -> the filing transaction committed
    first_receipt: float  # received_at -> the first delivery at a system
    last_receipt: float  # received_at -> the last delivery at a system
    status: str


def bench_latency(*, systems: int, answer_ms: float, runs: int, admin_url: str | None, prefix: str) -> bool:
    backend = "PostgreSQL (scratch database)" if admin_url else "SQLite (embedded, temporary data dir)"
    answer = answer_ms / 1000
    print(f"Latency: one access request over {systems} systems answering after {answer_ms:g} ms, {backend}")
    with (
        tempfile.TemporaryDirectory(prefix="privacy-bench-fanout-") as directory,
        scratch_database(admin_url, prefix=prefix) if admin_url else nullcontext(None) as url,
        fake_systems(systems, prefix="slow", answer_seconds=answer) as fleet,
    ):
        service = Service(Path(directory) / "data", url)
        reader = service.reader()
        worker = build_worker(
            settings=service.settings, workplace=service.workplace, fulfilment=service.fulfilment
        )
        try:
            service.register(fleet.systems, timeout_seconds=service.settings.delivery_timeout_seconds)
            subjects = service.create_subjects(runs)
            worker.start_in_thread()
            results: list[LatencyRun] = []
            for subject_id in subjects:
                seen = len(fleet.receipts())
                [request_id] = service.file_access_requests([subject_id])
                committed = time.time()
                wait_until(lambda: active_requests(reader) == 0, what="the request to end", every=0.02)
                with Session(reader) as session:
                    request = session.get(DsrRequest, request_id)
                    assert request is not None
                    assert request.completed_at is not None
                    received, completed, status = request.received_at, request.completed_at, request.status
                receipts = [r.at for r in fleet.receipts()[seen:] if r.request_id == request_id]
                start = received.timestamp()
                results.append(
                    LatencyRun(
                        total=completed.timestamp() - start,
                        committed=committed - start,
                        first_receipt=min(receipts) - start,
                        last_receipt=max(receipts) - start,
                        status=status,
                    )
                )
                run = results[-1]
                print(
                    f"  run {len(results)}: {run.total * 1000:6.0f} ms ({status}); deliveries arrived "
                    f"{run.first_receipt * 1000:.0f}-{run.last_receipt * 1000:.0f} ms after filing "
                    f"(committed after {run.committed * 1000:.0f} ms)",
                    flush=True,
                )
        finally:
            worker.stop()
            worker.join(30)
            reader.dispose()
            service.close()
    median = statistics.median(run.total for run in results)
    goal = GOAL_VERSUS_SLOWEST * answer
    met = median < goal and all(run.status == RequestStatus.COMPLETED.value for run in results)
    committed = statistics.median(run.committed for run in results)
    first = statistics.median(run.first_receipt for run in results)
    last = statistics.median(run.last_receipt for run in results)
    print(
        f"  filing to completion: median {median * 1000:.0f} ms over {len(results)} runs "
        f"(min {min(r.total for r in results) * 1000:.0f}, max {max(r.total for r in results) * 1000:.0f}); "
        f"{median / answer:.2f}x the slowest system's {answer_ms:g} ms; goal < {GOAL_VERSUS_SLOWEST:g}x "
        f"({goal * 1000:.0f} ms): {'met' if met else 'MISSED'}"
    )
    print(
        f"  where the median goes: filing committed {committed * 1000:.0f} ms, "
        f"picked up and first delivery {first * 1000:.0f} ms, all {systems} sent by "
        f"{last * 1000:.0f} ms, the systems' answer {answer_ms:g} ms, then recording and closing "
        f"{(median - last - answer) * 1000:.0f} ms"
    )
    if fleet.rejections:
        print(f"  ! the systems refused {len(fleet.rejections)} deliveries: {fleet.rejections[:3]}")
    return met


# --- Drain: a thousand requests, two worker processes, PostgreSQL -------------------------------------


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process, from /proc (0 where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_drain(
    *, requests: int, systems: int, answer_ms: float, workers: int, admin_url: str, prefix: str
) -> None:
    print(
        f"Drain: {requests} access requests over {systems} systems answering after {answer_ms:g} ms, "
        f"{workers} `privacy-service worker` processes, PostgreSQL (scratch database)"
    )
    with (
        tempfile.TemporaryDirectory(prefix="privacy-bench-fanout-") as directory,
        scratch_database(admin_url, prefix=prefix) as url,
        fake_systems(systems, prefix="system", answer_seconds=answer_ms / 1000) as fleet,
    ):
        service = Service(Path(directory) / "data", url)
        reader = service.reader()
        processes: list[subprocess.Popen[bytes]] = []
        try:
            service.register(fleet.systems, timeout_seconds=service.settings.delivery_timeout_seconds)
            setup = time.monotonic()
            subjects = service.create_subjects(requests)
            print(f"  setup: {requests} subjects created in {time.monotonic() - setup:.1f} s", flush=True)
            logs = [Path(directory) / f"worker-{index}.log" for index in range(workers)]
            for log_path in logs:
                with log_path.open("wb") as log:
                    processes.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "privacy_service", "worker"],
                            env=service.environment(),
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    )
            wait_until(
                lambda: all("worker started" in path.read_text() for path in logs),
                what="the workers",
                every=0.1,
            )
            cpu_before = [cpu_seconds(process.pid) for process in processes]
            filing = time.monotonic()
            service.file_access_requests(subjects)
            filed = time.time()
            print(
                f"  filed {requests} requests ({requests * systems} tasks) in one transaction in "
                f"{time.monotonic() - filing:.1f} s; draining ...",
                flush=True,
            )
            wait_until(lambda: active_requests(reader) == 0, what="the queue to drain", every=0.25)
            cpu = sum(
                cpu_seconds(process.pid) - before
                for process, before in zip(processes, cpu_before, strict=True)
            )
            with Session(reader) as session:
                last_completed: datetime | None = session.scalar(select(func.max(DsrRequest.completed_at)))
                statuses = dict(
                    session.execute(select(DsrRequest.status, func.count()).group_by(DsrRequest.status)).all()
                )
                attempts = session.scalar(select(func.sum(DsrTask.attempts))) or 0
            receipts = fleet.receipts()
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
            reader.dispose()
            service.close()
    assert last_completed is not None
    drained = last_completed.timestamp() - filed
    distinct = len({receipt.webhook_id for receipt in receipts})
    failed = sum(count for status, count in statuses.items() if status != RequestStatus.COMPLETED.value)
    print(
        f"  drained in {drained:.1f} s: {len(receipts)} deliveries ({distinct} distinct webhook-ids, "
        f"{attempts} attempts recorded) = {len(receipts) / drained:.0f} deliveries/s, "
        f"{requests / drained:.1f} requests/s"
    )
    print(
        f"  requests: {dict(sorted(statuses.items()))}; not completed: {failed}; "
        f"workers' CPU {cpu:.1f} s = {cpu / max(len(receipts), 1) * 1000:.1f} ms per delivery"
    )
    if fleet.rejections:
        print(f"  ! the systems refused {len(fleet.rejections)} deliveries: {fleet.rejections[:3]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skip", choices=["latency", "drain"], help="leave one part out")
    parser.add_argument("--runs", type=int, default=5, help="latency runs, one request each (default 5)")
    parser.add_argument("--systems", type=int, default=50, help="systems in the latency part (default 50)")
    parser.add_argument("--answer-ms", type=float, default=300, help="their answer time (default 300 ms)")
    parser.add_argument(
        "--latency-database", choices=["sqlite", "postgres"], default="sqlite",
        help="the latency part's database (default sqlite, the embedded default)",
    )  # fmt: skip
    parser.add_argument(
        "--requests", type=int, default=1000, help="requests in the drain part (default 1000)"
    )
    parser.add_argument(
        "--drain-systems", type=int, default=10, help="systems in the drain part (default 10)"
    )
    parser.add_argument("--drain-answer-ms", type=float, default=0, help="their answer time (default 0 ms)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes draining (default 2)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_ADMIN_URL,
        help=f"PostgreSQL admin URL (default {DEFAULT_ADMIN_URL})",
    )
    parser.add_argument(
        "--scratch-prefix", default="privacy_bench_fanout_", help="name prefix of the scratch databases"
    )
    arguments = parser.parse_args(argv)
    if (
        min(arguments.runs, arguments.systems, arguments.requests, arguments.drain_systems, arguments.workers)
        < 1
    ):
        parser.error("--runs, --systems, --requests, --drain-systems and --workers must be at least 1")
    if not arguments.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"privacy-service fan-out benchmark; {cores} usable cores shared by the service, its workers, "
        "the fake systems, PostgreSQL and this script; production settings"
    )
    met = True
    if arguments.skip != "latency":
        met = bench_latency(
            systems=arguments.systems,
            answer_ms=arguments.answer_ms,
            runs=arguments.runs,
            admin_url=arguments.database_url if arguments.latency_database == "postgres" else None,
            prefix=arguments.scratch_prefix,
        )
    if arguments.skip != "drain":
        bench_drain(
            requests=arguments.requests,
            systems=arguments.drain_systems,
            answer_ms=arguments.drain_answer_ms,
            workers=arguments.workers,
            admin_url=arguments.database_url,
            prefix=arguments.scratch_prefix,
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
