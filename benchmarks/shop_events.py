"""Shop events and approvals over HTTP on PostgreSQL: events per second against the HTTP + auth floor.

One command, against the real server: ``privacy-service serve`` on a free
loopback port (``login.running_server``), serving a scratch database
``privacy_bench_<random>`` created through the admin URL ``--database-url``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), migrated
with ``privacy-service migrate`` and dropped afterwards, whatever happens.

**Setup.** A shop client with ``audit:write approvals:write`` (``privacy-service
clients create --json``; ``PRIVACY_ACCESS_TOKEN_SECONDS=3600`` so its token
lasts the run) and ``--subjects`` customers (default 3,000), each enrolled with
TOTP, through the services in-process before the server starts (``users
import``'s ``accounts.import_user`` with a cheap argon2 hash, as a shop's
imported customers have, since these never log in; then
``mfa.enrol_confirmed_totp``): a TOTP step is accepted once per subject, so
confirming many approvals a second takes many subjects.

**Contenders**, over ``--connections`` keep-alive HTTP/1.1 connections
(default 16), each in a closed loop (the next request as soon as the answer is
in):

- *floor*: ``GET /v1/approvals/{id}`` of one approval asked for at setup, 200.
  The cheapest request a client token may make that goes the same way as an
  event: the same bearer check (``client_with``: the token's signature, the
  client enabled, not revoked) and the same unit of work (``WorkDep``), one
  read by primary key, nothing written and nothing recorded. The floor is what
  the server, uvicorn, FastAPI and the token check cost a request here;
- *events*: ``POST /v1/audit/events`` (``order.refund`` by a staff member on
  an order, small ``details``), 201: the event is appended to the trail in
  the request's transaction (``record_shop_event``), sealed later by the worker;
- *approvals*: ``POST /v1/approvals`` (``order.amount_change`` for one subject),
  201, then ``POST /v1/approvals/{id}/confirm`` with the subject's current
  TOTP code, 200 with the approval token: one approval confirmed. A subject
  is used once per 30-second step; when every subject has been used in the
  current step the connection waits for the next (counted, and printed);
- *approved events*: the same pair, then the event of that very operation with
  its ``approval_token``, 201 (the approval ``used`` with the event).

Each round runs every contender once, in that order, for ``--seconds`` after
a one-second warm-up (``--rounds`` rounds), so the machine's other load hits
them alike; each events round is divided by the floor round before it, and
the median of those ratios is the figure (goal: at least 0.5x the floor).
Printed per contender: the median rate of its rounds, the CPU milliseconds per
operation of the server process, PostgreSQL's backends of the scratch
database and this load generator, events left unsealed after each events
round, and the hypervisor's steal. PostgreSQL's figure counts only the
backends that live through the window: with more connections than the
server's pool keeps (``PRIVACY_DB_POOL_SIZE``, 10), its overflow connections
are opened and closed at each checkout, and their backends are missed.

**The worker.** ``--worker on`` serves with the worker in the server's process
(``serve``'s default, as in production): sealing the chain runs there, so the
events' figure includes the sealer's load. ``--worker off`` serves with
``--no-worker``: the events stay unsealed, appended only. ``--worker both``
(default) measures both, one server after the other on the same database.

The load generator is one asyncio loop writing pre-encoded requests on raw
sockets (``login.py``'s flood client), so it takes a small share of the
machine's cores (printed); it, the server and PostgreSQL share them all:
compare runs, not single figures.

    .venv/bin/python benchmarks/shop_events.py [--database-url postgresql+psycopg://...]
        [--seconds 5] [--rounds 5] [--connections 16] [--subjects 3000] [--worker both|on|off]
        [--skip approvals]

About 5 minutes with the defaults. Exits 1 if the goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pyotp
from argon2 import PasswordHasher as Argon2Hasher
from sqlalchemy import Engine, create_engine, text

from privacy_service.cli.bootstrap import identity_console
from privacy_service.identity import accounts, mfa

import steal
from audit_append import process_cpu_seconds, unsealed
from login import Server, _read_answer, report_server_log, run_cli, running_server, service_environment
from scratch import scratch_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GOAL_VERSUS_FLOOR = 0.5
WARMUP_SECONDS = 1.0
TOTP_STEP_SECONDS = 30
ENROLMENT_THREADS = 4
CONTENDERS = ("floor", "events", "approvals", "approved events")
SHOP_SCOPES = "audit:write approvals:write"
REFUND_DETAILS = {"amount": "12.50", "currency": "EUR", "reason": "damaged in transit"}
AMOUNT_CHANGE_DETAILS = {"from": "12.50", "to": "125.00", "currency": "EUR"}


# --- Setup ----------------------------------------------------------------------------------------


@dataclass
class Subject:
    """A customer with TOTP, and the last step of a code the benchmark sent for them."""

    id: str
    totp: pyotp.TOTP
    last_step: int = -1


def create_shop(env: dict[str, str]) -> tuple[str, str]:
    created = json.loads(
        run_cli("clients", "create", "--name", "bench-shop", "--scopes", SHOP_SCOPES, "--json", env=env)
    )
    return str(created["client_id"]), str(created["client_secret"])


def enrol_subjects(env: dict[str, str], count: int) -> list[Subject]:
    """``count`` customers with a confirmed authenticator, through the services, in-process.

    Imported (``accounts.import_user``) with one cheap argon2 hash of a random
    password: they never log in, and the production argon2 would take minutes.
    """
    legacy_hash = Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1).hash(secrets.token_hex(16))
    run = secrets.token_hex(4)
    # In this process, logging at WARNING: the service's JSON handler would log every httpx request after.
    quiet = {**env, "PRIVACY_LOG_LEVEL": "WARNING"}
    with mock.patch.dict(os.environ, quiet, clear=True), identity_console() as console:

        def enrol(index: int) -> Subject:
            email = f"subject-{index}-{run}@shop.example"
            with console.workplace.open() as work:
                user = accounts.import_user(
                    work,
                    emails=console.credentials.emails,
                    hasher=console.credentials.passwords.hasher,
                    email=email,
                    legacy_hash=legacy_hash,
                    profile={"country": "DE"},
                )
                enrolment, _ = mfa.enrol_confirmed_totp(
                    work,
                    recovery=console.credentials.recovery,
                    user_id=user.id,
                    account_name=email,
                    issuer="bench",
                )
                return Subject(id=user.id, totp=pyotp.TOTP(enrolment.secret))

        with ThreadPoolExecutor(max_workers=ENROLMENT_THREADS) as pool:
            return list(pool.map(enrol, range(count)))


class SubjectPool:
    """Subjects, least recently used first; each gives one code per TOTP step (RFC 6238 §5.2)."""

    def __init__(self, subjects: Sequence[Subject]) -> None:
        self._queue = deque(subjects)
        self.waits = 0  # times a connection waited for the next step: every subject used in this one

    def any(self) -> Subject:
        return self._queue[-1]

    async def code(self) -> tuple[Subject, str]:
        """The least recently used subject with its current code, once it has one not yet sent."""
        while True:
            now = time.time()
            step = int(now // TOTP_STEP_SECONDS)
            subject = self._queue[0]
            if subject.last_step < step:
                self._queue.rotate(-1)
                subject.last_step = step
                return subject, subject.totp.at(now)
            self.waits += 1
            await asyncio.sleep((step + 1) * TOTP_STEP_SECONDS - now + 0.01)


# --- The load generator: raw HTTP/1.1 on keep-alive connections ----------------------------------


class Requests:
    """Pre-encoded requests of the shop client (``login.py``'s flood does the same, for the same reason)."""

    def __init__(self, server: Server, token: str) -> None:
        self._headers = (
            f"Host: {server.host}:{server.port}\r\nAuthorization: Bearer {token}\r\n"
            "User-Agent: benchmarks/shop_events.py\r\n"
        ).encode()

    def get(self, path: str) -> bytes:
        return b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._headers + b"\r\n"

    def post(self, path: str, payload: dict[str, Any]) -> bytes:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return (
            b"POST " + path.encode() + b" HTTP/1.1\r\n" + self._headers
            + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body
        )  # fmt: skip


class Refused(Exception):
    """An answer other than the one expected; its text is the outcome counted, e.g. ``409 some_code``."""


class Connection:
    """One keep-alive connection; opened again after the server closed it (uvicorn closes one idle 5 s)."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.reopened = 0

    async def open(self) -> None:
        self._streams = await asyncio.open_connection(self._server.host, self._server.port)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            await self.open()
            self.reopened += 1
        assert self._streams is not None
        reader, writer = self._streams
        try:
            writer.write(request)
            status, closing, body = await _read_answer(reader)
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as error:
            self.close()
            raise Refused(f"connection lost ({type(error).__name__})") from None
        if closing:
            self.close()
        return status, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _expect(status: int, body: bytes, wanted: int) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(body) if body else {}
    if status != wanted:
        raise Refused(f"{status} {payload.get('code', '')}".strip())
    return payload


@dataclass
class Shop:
    """What the contenders send, as the shop backend would."""

    requests: Requests
    floor_request: bytes
    subjects: SubjectPool
    counter: Iterator[int]

    def event(self, *, action: str, order: str, details: dict[str, Any], token: str | None = None) -> bytes:
        payload: dict[str, Any] = {
            "action": action,
            "actor": {"type": "staff", "id": "clerk-7"},
            "target": {"type": "order", "id": order},
            "outcome": "success",
            "details": details,
        }
        if token is not None:
            payload["approval_token"] = token
        return self.requests.post("/v1/audit/events", payload)

    async def floor(self, connection: Connection) -> None:
        _expect(*await connection.exchange(self.floor_request), 200)

    async def record_event(self, connection: Connection) -> None:
        request = self.event(action="order.refund", order=f"o-{next(self.counter)}", details=REFUND_DETAILS)
        _expect(*await connection.exchange(request), 201)

    async def confirm_approval(self, connection: Connection, order: str) -> str:
        operation = {
            "action": "order.amount_change",
            "target": {"type": "order", "id": order},
            "details": AMOUNT_CHANGE_DETAILS,
        }
        subject, code = await self.subjects.code()  # drawn just before it is sent
        asked = self.requests.post("/v1/approvals", {"subject_id": subject.id, "operation": operation})
        approval = _expect(*await connection.exchange(asked), 201)
        confirm = self.requests.post(f"/v1/approvals/{approval['id']}/confirm", {"code": code})
        return str(_expect(*await connection.exchange(confirm), 200)["approval_token"])

    async def approval(self, connection: Connection) -> None:
        await self.confirm_approval(connection, f"o-{next(self.counter)}")

    async def approved_event(self, connection: Connection) -> None:
        order = f"o-{next(self.counter)}"
        token = await self.confirm_approval(connection, order)
        request = self.event(
            action="order.amount_change", order=order, details=AMOUNT_CHANGE_DETAILS, token=token
        )
        _expect(*await connection.exchange(request), 201)

    def contender(self, name: str) -> Callable[[Connection], Awaitable[None]]:
        return {
            "floor": self.floor,
            "events": self.record_event,
            "approvals": self.approval,
            "approved events": self.approved_event,
        }[name]


# --- Rounds ---------------------------------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds of the server process, the scratch database's backends and this process."""

    server: float
    database: float
    generator: float


@dataclass
class CpuProbe:
    """CPU of the server process, the scratch database's PostgreSQL backends and this process, in a window."""

    server_pid: int
    engine: Engine
    _backends: dict[int, float] = field(default_factory=dict)
    _others: tuple[float, float] = (0.0, 0.0)

    def start(self) -> None:
        """Note where each counter stands; the backends are those serving the database now (the
        server's pool and the worker's; one that ends before ``stop`` is left out)."""
        with self.engine.connect() as connection:
            pids = connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
            self._backends = {pid: process_cpu_seconds(pid) for pid in pids}
        self._others = (process_cpu_seconds(self.server_pid), time.process_time())

    def stop(self) -> Cpu:
        database = 0.0
        for pid, before in self._backends.items():
            after = process_cpu_seconds(pid)
            database += after - before if after >= before else 0.0
        return Cpu(
            server=process_cpu_seconds(self.server_pid) - self._others[0],
            database=database,
            generator=time.process_time() - self._others[1],
        )


@dataclass
class Round:
    contender: str
    operations: int
    seconds: float
    outcomes: Counter[str]
    cpu: Cpu
    stolen: float | None
    unsealed_after: int | None = None

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds

    def cpu_ms(self) -> Cpu:
        per = 1000 / max(1, self.operations)
        return Cpu(self.cpu.server * per, self.cpu.database * per, self.cpu.generator * per)


async def _run_round(
    server: Server, shop: Shop, contender: str, *, connections: int, seconds: float, probe: CpuProbe
) -> Round:
    """``connections`` closed loops of one contender; operations that end inside the window count."""
    operation = shop.contender(contender)
    opened = [Connection(server) for _ in range(connections)]
    for connection in opened:
        await connection.open()
    finished: list[tuple[float, str]] = []
    stopping = asyncio.Event()

    async def loop(connection: Connection) -> None:
        while not stopping.is_set():
            try:
                await operation(connection)
                outcome = "ok"
            except Refused as refusal:
                outcome = str(refusal)
            finished.append((time.monotonic(), outcome))

    loops = [asyncio.create_task(loop(connection)) for connection in opened]
    await asyncio.sleep(WARMUP_SECONDS)
    probe.start()
    jiffies_before, start = steal.cpu_jiffies(), time.monotonic()
    await asyncio.sleep(seconds)
    jiffies_after, end = steal.cpu_jiffies(), time.monotonic()
    cpu = probe.stop()
    stopping.set()
    await asyncio.gather(*loops)
    for connection in opened:
        connection.close()
    outcomes = Counter(outcome for ended, outcome in finished if start <= ended <= end)
    return Round(
        contender=contender,
        operations=outcomes.pop("ok", 0),
        seconds=end - start,
        outcomes=outcomes,
        cpu=cpu,
        stolen=steal.steal_share(jiffies_before, jiffies_after),
    )


@dataclass
class ServedResult:
    worker: bool
    rounds: list[dict[str, Round]] = field(default_factory=list)
    subject_waits: int = 0

    @property
    def label(self) -> str:
        return "serve (with its worker)" if self.worker else "serve --no-worker"

    def of(self, contender: str) -> list[Round]:
        return [each[contender] for each in self.rounds if contender in each]

    def median(self, contender: str) -> float:
        return statistics.median(r.per_second for r in self.of(contender))

    def paired_ratios(self) -> list[float]:
        return [each["events"].per_second / each["floor"].per_second for each in self.rounds]


def access_token(server: Server, client_id: str, client_secret: str) -> str:
    answer = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
        timeout=30,
    )
    return str(_expect(answer.status_code, answer.content, 200)["access_token"])


def floor_approval(server: Server, token: str, subject: Subject) -> str:
    """One approval, asked for and left pending: the floor reads it back."""
    answer = httpx.post(
        server.url + "/v1/approvals",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "subject_id": subject.id,
            "operation": {"action": "order.amount_change", "target": {"type": "order", "id": "o-floor"}},
        },
        timeout=30,
    )
    return str(_expect(answer.status_code, answer.content, 201)["id"])


def measure(
    *,
    env: dict[str, str],
    url: str,
    directory: Path,
    client: tuple[str, str],
    subjects: SubjectPool,
    worker: bool,
    contenders: Sequence[str],
    connections: int,
    seconds: float,
    rounds: int,
) -> ServedResult:
    result = ServedResult(worker=worker)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    log = directory / f"server-{'worker' if worker else 'no-worker'}.log"
    waits_before = subjects.waits
    try:
        with running_server(env, log, worker=worker) as server:
            token = access_token(server, *client)
            approval_id = floor_approval(server, token, subjects.any())
            requests = Requests(server, token)
            shop = Shop(
                requests=requests,
                floor_request=requests.get(f"/v1/approvals/{approval_id}"),
                subjects=subjects,
                counter=iter(range(10**12)),
            )
            probe = CpuProbe(server_pid=server.pid, engine=engine)
            print(f"  {result.label}: pid {server.pid} on {server.url}", flush=True)
            for number in range(1, rounds + 1):
                measured: dict[str, Round] = {}
                for contender in contenders:
                    measured[contender] = asyncio.run(
                        _run_round(
                            server, shop, contender, connections=connections, seconds=seconds, probe=probe
                        )
                    )
                    if contender == "events":
                        measured[contender].unsealed_after = unsealed(engine)
                result.rounds.append(measured)
                print(
                    f"    round {number}/{rounds}: "
                    + ", ".join(f"{name} {each.per_second:,.0f}/s" for name, each in measured.items())
                    + "".join(
                        f"  ({name}: {dict(each.outcomes)})"
                        for name, each in measured.items()
                        if each.outcomes
                    ),
                    flush=True,
                )
        report_server_log(server)
    finally:
        engine.dispose()
    result.subject_waits = subjects.waits - waits_before
    return result


# --- Reporting ------------------------------------------------------------------------------------


def report(results: Sequence[ServedResult], *, connections: int, seconds: float) -> bool:
    print(
        f"\nMedian of the rounds ({connections} connections, {seconds:g} s a round after a "
        f"{WARMUP_SECONDS:g} s warm-up); CPU ms per operation: server / PostgreSQL / load generator"
    )
    met = True
    for result in results:
        print(f"  {result.label}")
        for contender in CONTENDERS:
            measured = result.of(contender)
            if not measured:
                continue
            cpu = [r.cpu_ms() for r in measured]
            extra = ""
            if contender == "events":
                left = ", ".join(f"{r.unsealed_after:,}" for r in measured)
                extra = f"   unsealed after each round: {left}"
            print(
                f"    {contender:<16}{result.median(contender):>9,.0f}/s"
                f"   CPU {statistics.median(c.server for c in cpu):5.2f} / "
                f"{statistics.median(c.database for c in cpu):5.2f} / "
                f"{statistics.median(c.generator for c in cpu):5.2f} ms{extra}"
            )
        ratios = result.paired_ratios()
        ratio = statistics.median(ratios)
        goal = ratio >= GOAL_VERSUS_FLOOR
        met = met and goal
        print(
            f"    events / floor, each round: {' '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {ratio:.2f}x   goal >= {GOAL_VERSUS_FLOOR}x: {'met' if goal else 'MISSED'}"
        )
        shares = [r.stolen for each in result.rounds for r in each.values()]
        known = [share for share in shares if share is not None]
        print(
            "    hypervisor steal per round: "
            + (f"{min(known):.0%} to {max(known):.0%}" if known else "unknown")
            + (
                f"; connections waited {result.subject_waits} times for a new TOTP step"
                if result.subject_waits
                else ""
            )
        )
    print(
        f"\n  {'server':<27}{'floor GET/s':>11}{'events/s':>10}{'events/floor':>14}"
        f"{'approvals/s':>13}{'approved events/s':>19}"
    )
    for result in results:
        approvals = f"{result.median('approvals'):,.0f}" if result.of("approvals") else "-"
        approved = f"{result.median('approved events'):,.0f}" if result.of("approved events") else "-"
        print(
            f"  {result.label:<27}{result.median('floor'):>11,.0f}{result.median('events'):>10,.0f}"
            f"{statistics.median(result.paired_ratios()):>13.2f}x{approvals:>13}{approved:>19}"
        )
    return met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help=f"PostgreSQL admin URL (default {DEFAULT_URL})"
    )
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds a round (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server (default 5)")
    parser.add_argument(
        "--connections", type=int, default=16, help="concurrent keep-alive connections (default 16)"
    )
    parser.add_argument(
        "--subjects", type=int, default=3000, help="customers enrolled with TOTP (default 3,000)"
    )
    parser.add_argument(
        "--worker",
        choices=["both", "on", "off"],
        default="both",
        help="serve with its worker, --no-worker, or both one after the other (default both)",
    )
    parser.add_argument(
        "--skip", choices=["approvals"], action="append", default=[], help="leave the approvals out"
    )
    arguments = parser.parse_args(argv)
    if arguments.rounds < 1 or arguments.connections < 1 or arguments.seconds <= 0:
        parser.error("--rounds, --connections and --seconds must be positive")
    if arguments.subjects < 2:
        parser.error("--subjects must be at least 2")
    if not arguments.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server")
    contenders = [c for c in CONTENDERS if "approvals" not in arguments.skip or c in ("floor", "events")]
    modes = {"both": [True, False], "on": [True], "off": [False]}[arguments.worker]
    print(
        f"privacy-service shop events benchmark on PostgreSQL (scratch database): "
        f"{arguments.connections} connections, {arguments.rounds} rounds of {arguments.seconds:g} s, "
        f"{os.cpu_count()} cores shared by the server, PostgreSQL and this load generator",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="privacy-bench-") as directory,
        scratch_database(arguments.database_url) as url,
    ):
        env = service_environment(Path(directory) / "data", url, {"PRIVACY_ACCESS_TOKEN_SECONDS": "3600"})
        run_cli("migrate", env=env)
        client = create_shop(env)
        started = time.perf_counter()
        subjects = enrol_subjects(env, arguments.subjects if "approvals" not in arguments.skip else 2)
        took = time.perf_counter() - started
        print(f"  setup: {len(subjects):,} subjects enrolled with TOTP in {took:.1f} s", flush=True)
        pool = SubjectPool(subjects)
        results = [
            measure(
                env=env,
                url=url,
                directory=Path(directory),
                client=client,
                subjects=pool,
                worker=worker,
                contenders=contenders,
                connections=arguments.connections,
                seconds=arguments.seconds,
                rounds=arguments.rounds,
            )
            for worker in modes
        ]
    met = report(results, connections=arguments.connections, seconds=arguments.seconds)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
