"""Delegated login under load: logins per second against raw argon2, a burst, and a flood of bogus logins.

One command, on loopback, against the real server: ``privacy-service serve
--no-worker`` started as a subprocess on a free port with a temporary data
directory of its own and the production argon2 parameters (the settings'
defaults: every ``PRIVACY_*`` variable of the caller's environment is dropped).
The database is the embedded SQLite file by default; with ``--database-url``
naming a PostgreSQL server (an admin URL, e.g. ``postgresql+psycopg://
postgres@127.0.0.1:5432/postgres``) a scratch database ``privacy_bench_<random>``
is created through an AUTOCOMMIT connection, migrated with ``privacy-service
migrate``, served, and dropped afterwards.

**Setup.** A shop client is registered with ``privacy-service clients create
--json`` (same environment as the server), takes a client-credentials token at
``POST /oauth/token`` and registers customers at ``POST /v1/users`` with random
four-word passphrases.

**Throughput.** Issue "Delegated login" names the goal: successful logins per
second (``POST /v1/auth/login`` answering 200 with tokens) at least 0.8x the
rate of raw argon2-cffi verifications at the same parameters with the same
number of threads. Both sides use ``--concurrency`` threads (default: 2 per
usable core, so requests wait in the pool's queue while others travel; the
burst part below sends more): each login thread has its own ``httpx.Client`` (keep-alive)
and its own account (a login holds its account until its outcome is
recorded, so two threads on one account would throttle each other), and each
raw thread calls ``argon2.PasswordHasher.verify`` in a loop (argon2-cffi
releases the GIL). Contenders alternate round by round (``--rounds``), each
round measured for ``--seconds / --rounds`` after a warm-up, and the best round
of each counts, so a burst of load from elsewhere on the machine hurts neither
in particular. Each login round against the raw round just before it is
printed too, with their median. The load generator runs on the same cores as
the server (and so does PostgreSQL, and whatever else the machine runs); the CPU seconds the
server and the generator used per login are printed next to the CPU seconds
per raw verification, and their quotient is the ratio the logins would reach
if CPU were the only limit, a figure that other load on the machine hardly
moves. So is the hypervisor's steal in each round (the share of the machine's
CPU time given to other guests, from ``/proc/stat``): on a busy host it comes
and goes within a run, and the rounds it hit say little.

**Burst.** Issue 18 names it: a plain ``httpx`` client per customer, N of them at
once (``--burst``, default 8 and 32: more than the pool's threads, as many as a
shop's busy minute sends), each posting its next login as soon as it has an
answer and retrying a 503 at once, as a stock client in a loop does. The same
alternating rounds as the throughput part, against raw argon2-cffi on as many
threads as the machine has usable cores (the password pool's size: more raw
threads only add switching); goals: the median of each login round against
its raw round at least 0.8x (on a machine shared with other work the median of
paired rounds moves less than a ratio of best rounds, so the goal reads it),
and no 503 among all the answers, warm-ups included. Logins are admitted to
the password pool while their expected wait is within
``PRIVACY_PASSWORD_POOL_WAIT_SECONDS`` (2 s), so a burst queues instead of being
refused.

**Flood.** ``--flood-concurrency`` (default 300) connections send bogus logins
for ``--flood-seconds`` (default 20) as fast as the server answers, ignoring
``Retry-After`` as an attacker would, through raw asyncio streams (one
keep-alive HTTP/1.1 connection each, pre-encoded requests) so the generator
stays cheap and really holds them all in flight. The mix, drawn per request:

- 10 %: wrong passwords on one registered victim account (per-account throttle: 429 after a few),
- 20 %: unknown emails from one busy end-user IP (per-IP throttle: 429 once it has 50 failures),
- 70 %: unknown emails from random IPs of 198.18.0.0/15 (a botnet): each costs the argon2 work of
  a real check, which is what fills the hashing pool and should turn into quick 503 ``hashing_busy``.

Every request is one shop client's, as when a shop forwards its login form
(``--flood-client other`` sends the flood through a second client instead, to
take the per-client throttle out of the picture). Measured:

- the server process's peak memory: ``VmRSS`` of ``/proc/<pid>/status`` sampled every 100 ms
  (every thread of the process counts; any child process would be added) and ``VmHWM``, the
  kernel's own high-water mark over the process's life, against the budget
  ``pool size x argon2 memory + 300 MiB`` (pool size = ``PRIVACY_PASSWORD_POOL_WORKERS``, default
  the usable cores). Goal: ``VmHWM`` under the budget.
- latency of rejected requests (429 and 503; every 503 seen was ``hashing_busy``), timed at the client from
  the request's first byte written to the last byte of the answer. Goal: p99 under 100 ms. With
  a closed loop of N connections, Little's law ties mean latency to N / answers per second;
  the summary prints that bound too, and the same rejections as the server's access log times
  them (``duration_ms``, from its outermost middleware to the answer), which leaves out the
  time a request waits for the event loop before the application sees it.
- the status codes (and problem ``code``) of every answer.
- the machine's ceiling: the same flood, for ``--reference-seconds`` (default 8; 0 leaves it out),
  against a bare ASGI app answering 503 at once under the same uvicorn. The service's rejections
  cannot be answered faster than that; on a machine shared with other work it says how much of
  a missed latency goal is the machine's.
- a real customer: every few seconds during the flood, a registered customer (an account
  and a ``context.ip`` the flood never uses) logs in with the right password through the shop
  client, from a thread of its own. A shop retries a 503 or 429 after its ``Retry-After``
  (when at most 5 s) up to 3 tries. Goal: every one of the customer's logins succeeds.

    .venv/bin/python benchmarks/login.py [--database-url postgresql+psycopg://...]
        [--seconds 12] [--rounds 4] [--concurrency 2xcores] [--burst 8,32] [--burst-seconds 12]
        [--flood-seconds 20] [--flood-concurrency 300] [--flood-client same|other]
        [--pool-workers N] [--pool-queue N] [--pool-wait-seconds S] [--skip throughput|burst|flood]

Exits 1 if a goal is missed. Needs nothing beyond the service's own dependencies (httpx, argon2-cffi).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from argon2 import PasswordHasher, Type

from privacy_service.core.config import Settings

import steal
from scratch import scratch_database

GOAL_VERSUS_RAW = 0.8
GOAL_REJECTION_P99_SECONDS = 0.100
BUDGET_OVERHEAD_MIB = 300
MiB = 1024 * 1024
LOGIN_WARMUP_SECONDS = 2.0
RAW_WARMUP_SECONDS = 1.0
CUSTOMER_TRIES = 3
CUSTOMER_LONGEST_RETRY_AFTER = 5
CUSTOMER_IP = "192.0.2.10"  # TEST-NET-1: never one of the flood's addresses
NOISY_IP = "203.0.113.7"  # TEST-NET-3: one busy address, an open proxy say

_WORDS = (  # noqa: SIM905 -- a word list reads best as text
    "apple anchor basket beacon candle canyon dragon ember falcon fiddle garden glacier harbor hollow "
    "island jasper kettle lantern meadow marble nectar nimbus orchard otter pepper pillow quarry quiver "
    "raven river saddle shadow timber tulip umbra velvet walnut willow yonder zephyr bramble cobalt "
    "dune fennel grotto heron indigo juniper kelp lupin mosaic nutmeg opal pebble quill russet sorrel "
    "thistle"
).split()


def passphrase(generator: random.Random) -> str:
    """Four random words: long, not on any blocklist, unrelated to the email."""
    return "-".join(generator.choice(_WORDS) for _ in range(4))


# --- The service under test -----------------------------------------------------------------------


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_environment(data_dir: Path, database_url: str | None, extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment minus every PRIVACY_ setting (so argon2 runs at its defaults), plus ours."""
    environment = {key: value for key, value in os.environ.items() if not key.upper().startswith("PRIVACY_")}
    environment["PRIVACY_DATA_DIR"] = str(data_dir)
    if database_url is not None:
        environment["PRIVACY_DATABASE_URL"] = database_url
    environment.update(extra)
    return environment


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "privacy_service", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"privacy-service {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    host: str
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def stop(self, timeout: float = 40) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"  ! the server did not stop within {timeout:.0f} s of SIGTERM; killing it")
                self.process.kill()
                self.process.wait()
                return None
        return self.process.returncode


@contextmanager
def running_server(env: dict[str, str], log_path: Path, *, worker: bool = False) -> Iterator[Server]:
    """``privacy-service serve`` on a free loopback port, ``--no-worker`` unless ``worker``; stopped after."""
    port = free_port()
    command = [sys.executable, "-m", "privacy_service", "serve", "--port", str(port)]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command if worker else [*command, "--no-worker"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(
        process=process, url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port, log_path=log_path
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    f"the server exited with {process.returncode}:\n" + "\n".join(server.log_lines())
                )
            with suppress(httpx.TransportError):
                if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(
                    "the server did not answer /healthz within 60 s:\n" + "\n".join(server.log_lines())
                )
            time.sleep(0.1)
        yield server
    finally:
        status = server.stop()
        if status not in (0, None):
            print(f"  ! the server exited with status {status} after SIGTERM")


@dataclass(frozen=True)
class ShopClient:
    client_id: str
    client_secret: str

    def access_token(self, server: Server) -> str:
        answer = httpx.post(
            server.url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
            timeout=30,
        )
        if answer.status_code != 200:
            raise SystemExit(f"POST /oauth/token answered {answer.status_code}: {answer.text}")
        return str(answer.json()["access_token"])


def create_client(env: dict[str, str], name: str) -> ShopClient:
    created = json.loads(
        run_cli("clients", "create", "--name", name, "--scopes", "auth:login users:write", "--json", env=env)
    )
    return ShopClient(client_id=created["client_id"], client_secret=created["client_secret"])


@dataclass(frozen=True)
class Customer:
    email: str
    password: str


def register_customers(server: Server, token: str, count: int, threads: int) -> list[Customer]:
    """``count`` customers with random passphrases, registered ``threads`` at a time."""
    generator = random.Random(secrets.randbits(64))
    run = secrets.token_hex(4)
    customers = [
        Customer(f"customer-{index}-{run}@shop.example", passphrase(generator)) for index in range(count)
    ]
    local = threading.local()

    def register(customer: Customer) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
        for _ in range(20):
            answer = local.http.post(
                "/v1/users", json={"email": customer.email, "password": customer.password, "country": "DE"}
            )
            if answer.status_code == 201:
                return
            if answer.status_code != 503:
                raise SystemExit(f"POST /v1/users answered {answer.status_code}: {answer.text}")
            time.sleep(0.2)  # the hashing pool is full: registration hashes too
        raise SystemExit("POST /v1/users kept answering 503")

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(register, customers))
    return customers


# --- Process figures from /proc -------------------------------------------------------------------


def _status_kib(pid: int, field_name: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with suppress(OSError), open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                found.extend(int(child) for child in children.read().split())
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of the process (all its threads) plus any child processes'."""
    total = _status_kib(pid, "VmRSS")
    for child in _children(pid):
        with suppress(OSError):
            total += rss_bytes(child)
    return total * 1024


def peak_rss_bytes(pid: int) -> int:
    """The kernel's high-water mark of resident memory over the process's life (plus children's)."""
    total = _status_kib(pid, "VmHWM") * 1024
    for child in _children(pid):
        with suppress(OSError):
            total += peak_rss_bytes(child)
    return total


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process so far, every thread included."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_count(pid: int) -> int:
    return _status_kib(pid, "Threads")


class MemorySampler(threading.Thread):
    """Reads the server's resident memory every ``interval`` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, int]] = []  # (monotonic time, rss bytes, threads)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            with suppress(OSError, ValueError):
                self.samples.append((time.monotonic(), rss_bytes(self.pid), thread_count(self.pid)))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# --- Throughput: logins against raw argon2 --------------------------------------------------------


@dataclass(frozen=True)
class Round:
    label: str
    operations: int
    seconds: float
    others: Counter[str]
    server_cpu: float = 0.0  # CPU seconds the server used in the window
    generator_cpu: float = 0.0  # CPU seconds this process used in the window
    stolen: float | None = None  # share of the machine's CPU time the hypervisor took in the window
    answers: Counter[str] = field(default_factory=Counter)  # every outcome of the round, warm-up included

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds


def _timed_loop(
    *,
    threads: int,
    warmup: float,
    seconds: float,
    work: Callable[[int], Callable[[], str]],
    cpu: Callable[[], tuple[float, float]],
) -> tuple[int, Counter[str], float, tuple[float, float], float | None, Counter[str]]:
    """Run ``threads`` loops of ``work(i)()`` (which answers "ok" or an outcome label) through a warm-up
    and a measured window; return the ok results ending inside the window, the other outcomes, the
    window's length, how much each of ``cpu()``'s two cumulative CPU counters grew in it, the
    hypervisor's steal share in it, and every outcome of the loop, warm-up and window."""
    stop = threading.Event()
    start_barrier = threading.Barrier(threads + 1)
    finished: list[list[tuple[float, str]]] = [[] for _ in range(threads)]

    def loop(index: int) -> None:
        step = work(index)
        start_barrier.wait()
        record = finished[index].append
        while not stop.is_set():
            outcome = step()
            record((time.monotonic(), outcome))

    workers = [threading.Thread(target=loop, args=(index,), daemon=True) for index in range(threads)]
    for worker in workers:
        worker.start()
    start_barrier.wait()
    time.sleep(warmup)
    cpu_start, window_start, jiffies_start = cpu(), time.monotonic(), steal.cpu_jiffies()
    time.sleep(seconds)
    cpu_end, window_end, jiffies_end = cpu(), time.monotonic(), steal.cpu_jiffies()
    stop.set()
    for worker in workers:
        worker.join()
    ok, others, every = 0, Counter[str](), Counter[str]()
    for results in finished:
        for ended, outcome in results:
            every[outcome] += 1
            if window_start <= ended <= window_end:
                if outcome == "ok":
                    ok += 1
                else:
                    others[outcome] += 1
    used = (cpu_end[0] - cpu_start[0], cpu_end[1] - cpu_start[1])
    stolen = steal.steal_share(jiffies_start, jiffies_end)
    return ok, others, window_end - window_start, used, stolen, every


def raw_argon2_round(*, threads: int, seconds: float, hasher: PasswordHasher) -> Round:
    password = "raw-argon2-benchmark-passphrase"  # noqa: S105 -- a benchmark's throwaway
    encoded = hasher.hash(password)

    def work(_index: int) -> Callable[[], str]:
        def step() -> str:
            return "ok" if hasher.verify(encoded, password) else "mismatch"

        return step

    ok, others, window, (_, own), stolen, _ = _timed_loop(
        threads=threads,
        warmup=RAW_WARMUP_SECONDS,
        seconds=seconds,
        work=work,
        cpu=lambda: (0.0, time.process_time()),
    )
    return Round("raw argon2-cffi verify", ok, window, others, generator_cpu=own, stolen=stolen)


def login_round(
    *, threads: int, seconds: float, server: Server, token: str, customers: Sequence[Customer]
) -> Round:
    clients: list[httpx.Client] = []

    def work(index: int) -> Callable[[], str]:
        customer = customers[index]
        http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        clients.append(http)
        body = {
            "email": customer.email,
            "password": customer.password,
            "context": {"ip": f"192.0.2.{100 + index % 100}", "user_agent": "benchmarks/login.py"},
        }

        def step() -> str:
            try:
                answer = http.post("/v1/auth/login", json=body)
            except httpx.HTTPError as error:
                return f"transport error {type(error).__name__}"
            if answer.status_code == 200 and "access_token" in answer.json():
                return "ok"
            return _outcome(answer.status_code, answer.content)

        return step

    ok, others, window, (server_cpu, generator_cpu), stolen, every = _timed_loop(
        threads=threads,
        warmup=LOGIN_WARMUP_SECONDS,
        seconds=seconds,
        work=work,
        cpu=lambda: (cpu_seconds(server.pid), time.process_time()),
    )
    for http in clients:
        http.close()
    return Round(
        "POST /v1/auth/login (200)",
        ok,
        window,
        others,
        server_cpu=server_cpu,
        generator_cpu=generator_cpu,
        stolen=stolen,
        answers=Counter({("200" if outcome == "ok" else outcome): count for outcome, count in every.items()}),
    )


def _outcome(status: int, payload: bytes) -> str:
    """``status code`` of an answer, e.g. ``503 hashing_busy``; a pool timeout is told apart (timed out)."""
    code = ""
    with suppress(ValueError, AttributeError):
        body = json.loads(payload)
        code = body.get("code") or body.get("error") or ""
        if code == "hashing_busy" and "too long" in str(body.get("detail", "")):
            code += " (timed out)"
    return f"{status} {code}".strip()


@dataclass(frozen=True)
class ThroughputResult:
    raw: list[Round]
    logins: list[Round]

    @property
    def best_raw(self) -> Round:
        return max(self.raw, key=lambda r: r.per_second)

    @property
    def best_login(self) -> Round:
        return max(self.logins, key=lambda r: r.per_second)

    @property
    def ratio(self) -> float:
        return self.best_login.per_second / self.best_raw.per_second

    @property
    def paired_ratios(self) -> list[float]:
        """Each login round against the raw round just before it, which ran under nearly the same load."""
        return [login.per_second / raw.per_second for raw, login in zip(self.raw, self.logins, strict=True)]


def run_throughput(
    *,
    server: Server,
    client: ShopClient,
    customers: Sequence[Customer],
    threads: int,
    seconds: float,
    rounds: int,
    raw_threads: int | None = None,
    label: str = "",
) -> ThroughputResult:
    """Alternating rounds of raw argon2 on ``raw_threads`` (default ``threads``) and of logins on
    ``threads`` clients, one customer each."""
    defaults = Settings.model_fields
    hasher = PasswordHasher(
        time_cost=defaults["argon2_time_cost"].default,
        memory_cost=defaults["argon2_memory_kib"].default,
        parallelism=defaults["argon2_parallelism"].default,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )
    per_round = seconds / rounds
    raw: list[Round] = []
    logins: list[Round] = []
    for number in range(1, rounds + 1):
        raw.append(raw_argon2_round(threads=raw_threads or threads, seconds=per_round, hasher=hasher))
        token = client.access_token(server)  # fresh each round: access tokens live 5 minutes
        logins.append(
            login_round(threads=threads, seconds=per_round, server=server, token=token, customers=customers)
        )
        print(
            f"  {label}round {number}/{rounds}: raw {raw[-1].per_second:7.1f}/s, "
            f"logins {logins[-1].per_second:7.1f}/s"
            + (f"  (other answers: {dict(logins[-1].others)})" if logins[-1].others else ""),
            flush=True,
        )
    return ThroughputResult(raw=raw, logins=logins)


# --- Burst: more concurrent logins than threads, none of them waiting between attempts ----------


def run_burst(
    *,
    server: Server,
    client: ShopClient,
    customers: Sequence[Customer],
    sizes: Sequence[int],
    seconds: float,
    rounds: int,
) -> dict[int, ThroughputResult]:
    """For each size N, N plain httpx clients (one customer each) against raw argon2 on the usable cores.

    Each client posts its next login as soon as it has an answer, whatever the answer (a 503 is
    retried at once, as a stock client in a loop does): the load the issue measured.
    """
    results: dict[int, ThroughputResult] = {}
    for size in sizes:
        results[size] = run_throughput(
            server=server,
            client=client,
            customers=customers[:size],
            threads=size,
            seconds=seconds,
            rounds=rounds,
            raw_threads=usable_cores(),
            label=f"burst {size}: ",
        )
    return results


# --- Flood ----------------------------------------------------------------------------------------


@dataclass
class FloodResult:
    seconds: float
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    transport_errors: Counter[str] = field(default_factory=Counter)
    memory: list[tuple[float, int, int]] = field(default_factory=list)
    peak_hwm: int = 0
    rss_after: int = 0
    rss_before: int = 0
    customer: list[CustomerLogin] = field(default_factory=list)
    server_cpu: float = 0.0
    generator_cpu: float = 0.0
    stolen: float | None = None
    server_side_rejections: list[float] = field(default_factory=list)  # ms, from the access log

    def record(self, outcome: str, latency: float) -> None:
        self.statuses[outcome] += 1
        self.latencies.setdefault(outcome, []).append(latency)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    def rejections(self) -> list[float]:
        return [
            latency
            for outcome, values in self.latencies.items()
            if outcome.startswith(("429", "503"))
            for latency in values
        ]


@dataclass(frozen=True)
class CustomerLogin:
    at: float  # seconds into the flood
    tries: list[tuple[str, float]]  # (outcome, latency) of each try

    @property
    def succeeded(self) -> bool:
        return bool(self.tries) and self.tries[-1][0] == "200"

    @property
    def total_seconds(self) -> float:
        return sum(latency for _, latency in self.tries)


class _RequestMaker:
    """Pre-encoded bogus login requests, drawn per request from the mix described in the module docstring."""

    def __init__(self, *, host: str, port: int, token: str, victim_email: str, seed: int) -> None:
        self._random = random.Random(seed)
        self._head = (
            f"POST /v1/auth/login HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nUser-Agent: benchmarks/login.py flood\r\n"
        ).encode()
        self._victim = victim_email

    def next(self) -> bytes:
        draw = self._random.random()
        wrong = f"wrong-{self._random.getrandbits(48):x}"
        if draw < 0.10:
            email, ip = self._victim, self._botnet_ip()
        else:
            email = f"nobody-{self._random.getrandbits(64):x}@flood.example"
            ip = NOISY_IP if draw < 0.30 else self._botnet_ip()
        body = json.dumps(
            {"email": email, "password": wrong, "context": {"ip": ip, "user_agent": "flood/1.0"}},
            separators=(",", ":"),
        ).encode()
        return self._head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body

    def _botnet_ip(self) -> str:
        value = self._random.getrandbits(17)  # 198.18.0.0/15, RFC 2544's benchmarking range
        return f"198.{18 + (value >> 16)}.{(value >> 8) & 0xFF}.{value & 0xFF}"


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Status, whether the server will close the connection, and the body of one HTTP/1.1 answer."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length, closing, chunked = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and value.strip().lower() == b"close":
            closing = True
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, closing, body
    return status, closing, await reader.readexactly(length) if length else b""


async def _flood(
    *, server: Server, token: str, victim_email: str, concurrency: int, seconds: float, result: FloodResult
) -> None:
    deadline = time.monotonic() + seconds

    async def flooder(index: int) -> None:
        maker = _RequestMaker(
            host=server.host, port=server.port, token=token, victim_email=victim_email, seed=index
        )
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while time.monotonic() < deadline:
            request = maker.next()
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = await asyncio.open_connection(server.host, server.port)
                    started = time.perf_counter()  # a connection is not part of the answer's latency
                reader, writer = connection
                writer.write(request)
                status, closing, body = await asyncio.wait_for(_read_answer(reader), timeout=60)
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
                result.transport_errors[type(error).__name__] += 1
                if connection is not None:
                    connection[1].close()
                connection = None
                await asyncio.sleep(0.05)
                continue
            result.record(_outcome(status, body), time.perf_counter() - started)
            if closing:
                connection[1].close()
                connection = None
        if connection is not None:
            connection[1].close()

    await asyncio.gather(*(flooder(index) for index in range(concurrency)))


def _real_customer(
    *,
    server: Server,
    token: str,
    customer: Customer,
    start: float,
    times: Sequence[float],
    out: list[CustomerLogin],
) -> None:
    """Log the customer in at each of ``times`` (seconds into the flood), retrying as a shop would."""
    body = {
        "email": customer.email,
        "password": customer.password,
        "context": {"ip": CUSTOMER_IP, "user_agent": "Firefox"},
    }
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for at in times:
            time.sleep(max(0.0, start + at - time.monotonic()))
            tries: list[tuple[str, float]] = []
            for attempt in range(CUSTOMER_TRIES):
                began = time.perf_counter()
                try:
                    answer = http.post("/v1/auth/login", json=body)
                except httpx.HTTPError as error:
                    tries.append((f"transport error {type(error).__name__}", time.perf_counter() - began))
                    break
                latency = time.perf_counter() - began
                if answer.status_code == 200:
                    tries.append(("200", latency))
                    break
                tries.append((_outcome(answer.status_code, answer.content), latency))
                retry_after = int(answer.headers.get("retry-after", "0") or 0)
                if (
                    answer.status_code not in (429, 503)
                    or not 0 < retry_after <= CUSTOMER_LONGEST_RETRY_AFTER
                ):
                    break
                if attempt + 1 < CUSTOMER_TRIES:
                    time.sleep(retry_after)
            out.append(CustomerLogin(at=at, tries=tries))


def run_flood(
    *,
    server: Server,
    token: str,
    customer_token: str,
    victim: Customer,
    customer: Customer,
    concurrency: int,
    seconds: float,
) -> FloodResult:
    result = FloodResult(seconds=seconds)
    result.rss_before = rss_bytes(server.pid)
    sampler = MemorySampler(server.pid)
    sampler.start()
    # The customer's logins: spread over the flood, the first once it is in full swing.
    times = [seconds * fraction for fraction in (0.15, 0.35, 0.55, 0.75)]
    start = time.monotonic()
    customer_thread = threading.Thread(
        target=_real_customer,
        kwargs={
            "server": server,
            "token": customer_token,
            "customer": customer,
            "start": start,
            "times": times,
            "out": result.customer,
        },
        daemon=True,
    )
    server_cpu_before, generator_cpu_before = cpu_seconds(server.pid), time.process_time()
    jiffies_before = steal.cpu_jiffies()
    customer_thread.start()
    asyncio.run(
        _flood(
            server=server,
            token=token,
            victim_email=victim.email,
            concurrency=concurrency,
            seconds=seconds,
            result=result,
        )
    )
    elapsed = time.monotonic() - start
    result.server_cpu = (cpu_seconds(server.pid) - server_cpu_before) / elapsed
    result.generator_cpu = (time.process_time() - generator_cpu_before) / elapsed
    result.stolen = steal.steal_share(jiffies_before, steal.cpu_jiffies())
    result.seconds = elapsed
    customer_thread.join(timeout=60)
    result.peak_hwm = peak_rss_bytes(server.pid)
    time.sleep(2.0)  # does memory come back once the flood is over?
    sampler.stop()
    result.memory = sampler.samples
    result.rss_after = rss_bytes(server.pid)
    result.server_side_rejections = access_log_durations(server, path="/v1/auth/login", statuses={429, 503})
    return result


_BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = b'{"code":"hashing_busy"}'
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})
"""


@dataclass(frozen=True)
class ReferenceResult:
    answers_per_second: float
    p50: float
    p99: float
    server_cpu: float
    stolen: float | None


def run_reference(
    *, directory: Path, env: dict[str, str], concurrency: int, seconds: float
) -> ReferenceResult:
    """The same flood against a bare ASGI app that answers 503 at once, under the same uvicorn, now.

    What the machine, the HTTP server and this load generator allow at best: the service's rejection
    latency can come near it, not under it. On a machine shared with other work it moves from run to run.
    """
    (directory / "bare_app.py").write_text(_BARE_APP, encoding="utf-8")
    port = free_port()
    log_path = directory / "bare.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "--app-dir", str(directory), "bare_app:app"),
                *("--port", str(port), "--no-access-log", "--log-level", "warning"),
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    bare = Server(process=process, url=url, host="127.0.0.1", port=port, log_path=log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            with suppress(httpx.TransportError):
                httpx.get(bare.url, timeout=1)
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the bare reference app did not start:\n" + "\n".join(bare.log_lines()))
            time.sleep(0.1)
        result = FloodResult(seconds=seconds)
        cpu_before, started, jiffies_before = cpu_seconds(process.pid), time.monotonic(), steal.cpu_jiffies()
        asyncio.run(
            _flood(
                server=bare,
                token="none",  # noqa: S106 -- the bare app reads no token
                victim_email="-",
                concurrency=concurrency,
                seconds=seconds,
                result=result,
            )
        )
        elapsed = time.monotonic() - started
        rejections = result.rejections()
        return ReferenceResult(
            answers_per_second=result.answered / elapsed,
            p50=percentile(rejections, 0.5),
            p99=percentile(rejections, 0.99),
            server_cpu=(cpu_seconds(process.pid) - cpu_before) / elapsed,
            stolen=steal.steal_share(jiffies_before, steal.cpu_jiffies()),
        )
    finally:
        bare.stop()


def access_log_durations(server: Server, *, path: str, statuses: set[int]) -> list[float]:
    """``duration_ms`` of the server's access-log lines for ``path`` answered with one of ``statuses``.

    The throughput part only ever gets 200s, so on a login path these are the flood's (and the real
    customer's retried tries).
    """
    durations: list[float] = []
    for line in server.log_lines():
        with suppress(ValueError, TypeError, AttributeError):
            entry = json.loads(line)
            if entry.get("path") == path and entry.get("status") in statuses and "duration_ms" in entry:
                durations.append(float(entry["duration_ms"]))
    return durations


# --- Report ---------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]  # nearest rank


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_throughput(result: ThroughputResult, *, threads: int, rounds: int, seconds: float) -> bool:
    print(
        f"Throughput: {threads} threads each side, {rounds} alternating rounds of {seconds / rounds:.1f} s "
        "after a warm-up, best round counts"
    )
    print(f"  {'':<34}{'best/s':>9}{'mean/s':>9}{'each round/s':>26}")
    for label, rounds_of in (
        ("raw argon2-cffi verify", result.raw),
        ("successful logins (200 + tokens)", result.logins),
    ):
        mean = sum(r.operations for r in rounds_of) / sum(r.seconds for r in rounds_of)
        best = max(r.per_second for r in rounds_of)
        each = " ".join(f"{r.per_second:.1f}" for r in rounds_of)
        print(f"  {label:<34}{best:>9.1f}{mean:>9.1f}   {each:>23}")
    met = result.ratio >= GOAL_VERSUS_RAW
    print(
        f"  {'logins / raw argon2 (best rounds)':<34}{result.ratio:>8.2f}x"
        f"   goal >= {GOAL_VERSUS_RAW:.1f}x: {_met(met)}"
    )
    paired = result.paired_ratios
    print(
        f"  {'each login round / its raw round':<34}{statistics.median(paired):>8.2f}x median   "
        + " ".join(f"{ratio:.2f}" for ratio in paired)
    )
    others = sum((r.others for r in result.logins), Counter[str]())
    if others:
        print(f"  other answers to logins inside the windows: {dict(others)}")
    raw_ops = sum(r.operations for r in result.raw) or 1
    login_ops = sum(r.operations for r in result.logins) or 1
    login_seconds = sum(r.seconds for r in result.logins)
    server_cpu = sum(r.server_cpu for r in result.logins)
    generator_cpu = sum(r.generator_cpu for r in result.logins)
    raw_cpu = sum(r.generator_cpu for r in result.raw)
    raw_per_op, login_per_op = raw_cpu / raw_ops, (server_cpu + generator_cpu) / login_ops
    print(
        f"  CPU per operation: raw verify {raw_per_op * 1000:.0f} ms; "
        f"login {server_cpu / login_ops * 1000:.0f} ms "
        f"in the server + {generator_cpu / login_ops * 1000:.1f} ms in the load generator "
        f"(ratio if CPU were the only limit: {raw_per_op / login_per_op:.2f}x)"
    )
    print(
        f"  cores used during the login windows: server {server_cpu / login_seconds:.2f}, load generator "
        f"{generator_cpu / login_seconds:.2f}, of {usable_cores()} shared with anything else on the machine "
        f"(raw rounds: {raw_cpu / sum(r.seconds for r in result.raw):.2f} in this process, the server idle)"
    )
    print(f"  {_steal_by_round(result.raw, result.logins)}")
    return met


def report_burst(results: dict[int, ThroughputResult], *, rounds: int, seconds: float) -> list[bool]:
    """Per burst size: the paired-median ratio (goal >= 0.8x) and the 503s among all answers (goal none)."""
    print(
        f"Burst: N plain httpx clients, one customer each, posting logins back to back without waiting "
        f"(a 503 is sent again at once), against raw argon2-cffi on {usable_cores()} threads (the cores, "
        f"as the password pool); {rounds} alternating rounds of {seconds / rounds:.1f} s after a warm-up"
    )
    met: list[bool] = []
    for size, result in results.items():
        paired = result.paired_ratios
        median = statistics.median(paired)
        answers = sum((r.answers for r in result.logins), Counter[str]())
        refused = sum(count for outcome, count in answers.items() if outcome.startswith("503"))
        ratio_met, none_refused = median >= GOAL_VERSUS_RAW, refused == 0
        login_ops = sum(r.operations for r in result.logins) or 1
        server_cpu = sum(r.server_cpu for r in result.logins)
        generator_cpu = sum(r.generator_cpu for r in result.logins)
        raw_per_op = sum(r.generator_cpu for r in result.raw) / (sum(r.operations for r in result.raw) or 1)
        print(
            f"  {size:>3} clients: logins {result.best_login.per_second:.1f}/s best, raw "
            f"{result.best_raw.per_second:.1f}/s best ({result.ratio:.2f}x); "
            f"each login round / its raw round: {' '.join(f'{ratio:.2f}' for ratio in paired)}, "
            f"median {median:.2f}x   "
            f"goal >= {GOAL_VERSUS_RAW:.1f}x: {_met(ratio_met)}"
        )
        print(
            f"      answers, warm-ups included: {sum(answers.values()):,} {dict(answers.most_common())}; "
            f"503: {refused:,}   goal none: {_met(none_refused)}"
        )
        print(
            f"      CPU per login: server {server_cpu / login_ops * 1000:.0f} ms + load generator "
            f"{generator_cpu / login_ops * 1000:.1f} ms; raw verify {raw_per_op * 1000:.0f} ms; "
            f"{_steal_by_round(result.raw, result.logins)}"
        )
        met.extend((ratio_met, none_refused))
    return met


def _steal_by_round(raw: Sequence[Round], logins: Sequence[Round]) -> str:
    if all(r.stolen is None for r in (*raw, *logins)):
        return steal.describe(None)
    shares = {
        label: " ".join(steal.percent(r.stolen) for r in rounds_of)
        for label, rounds_of in (("raw", raw), ("logins", logins))
    }
    return (
        "hypervisor steal in each round, of the machine's CPU time: "
        f"raw {shares['raw']}; logins {shares['logins']}"
    )


def report_flood(
    result: FloodResult,
    *,
    concurrency: int,
    budget: int,
    pool_workers: int,
    memory_kib: int,
    reference: ReferenceResult | None,
) -> tuple[bool, bool, bool]:
    print(
        f"Flood: {concurrency} concurrent bogus logins for {result.seconds:.1f} s, "
        f"{result.answered:,} answers "
        f"({result.answered / result.seconds:,.0f}/s)"
    )
    print(f"  {'answer':<34}{'count':>9}{'share':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for outcome, count in result.statuses.most_common():
        values = result.latencies[outcome]
        print(
            f"  {outcome:<34}{count:>9,}{count / result.answered:>8.1%}{percentile(values, 0.5) * 1000:>9.0f}"
            f"{percentile(values, 0.99) * 1000:>9.0f}{max(values) * 1000:>9.0f}"
        )
    if result.transport_errors:
        print(f"  transport errors (reconnected): {dict(result.transport_errors)}")
    rejections = result.rejections()
    p99 = percentile(rejections, 0.99)
    latency_met = bool(rejections) and p99 < GOAL_REJECTION_P99_SECONDS
    little = concurrency / (result.answered / result.seconds) if result.answered else float("nan")
    print(
        f"  rejections (429 and 503): {len(rejections):,}, p50 {percentile(rejections, 0.5) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms   "
        f"goal p99 < {GOAL_REJECTION_P99_SECONDS * 1000:.0f} ms: {_met(latency_met)}"
    )
    print(
        f"  (closed loop: mean latency of all answers = {concurrency} in flight / "
        f"{result.answered / result.seconds:,.0f} "
        f"answers per s = {little * 1000:.0f} ms by Little's law)"
    )
    if result.server_side_rejections:
        inside = result.server_side_rejections
        print(
            "  the same rejections as the server's access log times them (duration_ms, from the app's first "
            f"middleware to its answer): p50 {percentile(inside, 0.5):.0f} ms, "
            f"p99 {percentile(inside, 0.99):.0f} ms"
        )
    if reference is not None:
        print(
            "  reference, the same flood against a bare ASGI app answering 503 at once under the same "
            f"uvicorn (the machine's ceiling now): {reference.answers_per_second:,.0f} answers per s, "
            f"p50 {reference.p50 * 1000:.0f} ms, p99 {reference.p99 * 1000:.0f} ms, "
            f"server {reference.server_cpu:.2f} cores; {steal.describe(reference.stolen)}"
        )
    print(
        f"  CPU during the flood: server {result.server_cpu:.2f} cores, "
        f"load generator {result.generator_cpu:.2f} cores; {steal.describe(result.stolen)}"
    )
    during = [rss for _, rss, _ in result.memory]
    threads = [count for _, _, count in result.memory]
    memory_met = result.peak_hwm < budget
    print(
        f"  server memory: VmHWM (peak over its life) {result.peak_hwm / MiB:.0f} MiB, sampled VmRSS max "
        f"{max(during, default=0) / MiB:.0f} MiB (before {result.rss_before / MiB:.0f}, "
        f"2 s after {result.rss_after / MiB:.0f}), "
        f"threads up to {max(threads, default=0)}"
    )
    print(
        f"  budget {pool_workers} hashing threads x {memory_kib / 1024:.0f} MiB "
        f"+ {BUDGET_OVERHEAD_MIB} MiB = "
        f"{budget / MiB:.0f} MiB: {_met(memory_met)}"
    )
    for login in result.customer:
        tries = ", ".join(f"{outcome} in {latency * 1000:.0f} ms" for outcome, latency in login.tries)
        print(
            f"  real customer at {login.at:4.1f} s: {'succeeded' if login.succeeded else 'FAILED'} ({tries})"
        )
    customer_met = bool(result.customer) and all(login.succeeded for login in result.customer)
    first_try = sum(1 for login in result.customer if login.tries and login.tries[0][0] == "200")
    print(
        f"  real customer: {sum(login.succeeded for login in result.customer)}/{len(result.customer)} "
        f"logins succeeded ({first_try} at the first try; a shop retries 429/503 after "
        f"Retry-After <= {CUSTOMER_LONGEST_RETRY_AFTER} s, "
        f"{CUSTOMER_TRIES} tries)   goal all succeed: {_met(customer_met)}"
    )
    return memory_met, latency_met, customer_met


def report_server_log(server: Server) -> None:
    """Count the server's WARNING and worse log lines by message, so misbehaviour shows in the run."""
    counts: Counter[str] = Counter()
    for line in server.log_lines():
        try:
            entry = json.loads(line)
        except ValueError:
            if line.strip():
                counts[f"(not JSON) {line.strip()[:120]}"] += 1
            continue
        level = str(entry.get("level", "")).upper()
        if level in {"WARNING", "ERROR", "CRITICAL"}:
            detail = entry.get("error_type") or entry.get("exc_type") or ""
            counts[f"{level} {entry.get('message') or entry.get('msg')} {detail}".strip()] += 1
    if counts:
        print("  server log, warnings and errors:")
        for message, count in counts.most_common(10):
            print(f"    {count:>7,} x {message}")
    else:
        print("  server log: no warnings or errors")


def main(argv: Sequence[str] | None = None) -> int:
    cores = usable_cores()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url", help="PostgreSQL admin URL: serve from a scratch database created there"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=12,
        help="measured seconds per contender in the throughput part (default 12)",
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds per contender, best counts (default 4)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2 * cores,
        help=f"threads each side (default 2 per core: {2 * cores})",
    )
    parser.add_argument("--flood-seconds", type=float, default=20, help="length of the flood (default 20)")
    parser.add_argument(
        "--flood-concurrency", type=int, default=300, help="bogus logins in flight (default 300)"
    )
    parser.add_argument(
        "--flood-client",
        choices=["same", "other"],
        default="same",
        help="send the flood through the real customers' shop client (default) or a second client",
    )
    parser.add_argument(
        "--pool-workers", type=int, help="PRIVACY_PASSWORD_POOL_WORKERS for the server (default: its cores)"
    )
    parser.add_argument(
        "--pool-queue",
        type=int,
        help="PRIVACY_PASSWORD_POOL_QUEUE for the server (default: 256 per worker)",
    )
    parser.add_argument(
        "--pool-wait-seconds",
        type=float,
        help="PRIVACY_PASSWORD_POOL_WAIT_SECONDS for the server (default 2)",
    )
    parser.add_argument(
        "--reference-seconds",
        type=float,
        default=8,
        help="after the flood, flood a bare ASGI app this long for the machine's ceiling (0: not)",
    )
    parser.add_argument(
        "--burst",
        default="8,32",
        help="concurrent clients of the burst part, comma-separated (default 8,32)",
    )
    parser.add_argument(
        "--burst-seconds",
        type=float,
        default=12,
        help="measured seconds per contender and burst size (default 12)",
    )
    parser.add_argument(
        "--skip",
        choices=["throughput", "burst", "flood"],
        action="append",
        default=[],
        help="leave a part out (may be repeated)",
    )
    parser.add_argument("--keep-log", type=Path, help="copy the server's log here at the end")
    arguments = parser.parse_args(argv)
    if arguments.rounds < 1 or arguments.concurrency < 1 or arguments.flood_concurrency < 1:
        parser.error("--rounds, --concurrency and --flood-concurrency must be at least 1")
    try:
        bursts = [int(size) for size in arguments.burst.split(",") if size.strip()]
    except ValueError:
        parser.error("--burst takes numbers separated by commas, e.g. 8,32")
    if any(size < 1 for size in bursts):
        parser.error("--burst sizes must be at least 1")
    skip = set(arguments.skip)

    extra: dict[str, str] = {}
    if arguments.pool_workers is not None:
        extra["PRIVACY_PASSWORD_POOL_WORKERS"] = str(arguments.pool_workers)
    if arguments.pool_queue is not None:
        extra["PRIVACY_PASSWORD_POOL_QUEUE"] = str(arguments.pool_queue)
    if arguments.pool_wait_seconds is not None:
        extra["PRIVACY_PASSWORD_POOL_WAIT_SECONDS"] = str(arguments.pool_wait_seconds)
    pool_workers = arguments.pool_workers or cores
    memory_kib = Settings.model_fields["argon2_memory_kib"].default
    budget = pool_workers * memory_kib * 1024 + BUDGET_OVERHEAD_MIB * MiB
    backend = (
        "PostgreSQL (scratch database)" if arguments.database_url else "SQLite (embedded, temporary data dir)"
    )
    print(
        f"privacy-service login benchmark on {backend}; {cores} usable cores shared by the server "
        "and this load generator; "
        f"argon2id t={Settings.model_fields['argon2_time_cost'].default} m={memory_kib} KiB "
        f"p={Settings.model_fields['argon2_parallelism'].default} (the defaults)",
        flush=True,
    )

    met: list[bool] = []
    with (
        tempfile.TemporaryDirectory(prefix="privacy-bench-") as directory,
        scratch_database(arguments.database_url) if arguments.database_url else nullcontext(None) as url,
    ):
        env = service_environment(Path(directory) / "data", url, extra)
        run_cli("migrate", env=env)  # the commands below refuse to create a database: only migrate, serve do
        shop = create_client(env, "bench")
        flood_shop = create_client(env, "bench-flood") if arguments.flood_client == "other" else shop
        setup_started = time.monotonic()
        with running_server(env, Path(directory) / "server.log") as server:
            try:
                token = shop.access_token(server)
                most = max([arguments.concurrency, *bursts])
                customers = register_customers(server, token, most + 2, threads=cores)
                real_customer, victim = customers[-2], customers[-1]
                print(
                    f"  setup: server pid {server.pid} on {server.url}, "
                    f"{len(customers)} customers registered "
                    f"in {time.monotonic() - setup_started:.1f} s",
                    flush=True,
                )
                if "throughput" not in skip:
                    throughput = run_throughput(
                        server=server,
                        client=shop,
                        customers=customers[: arguments.concurrency],
                        threads=arguments.concurrency,
                        seconds=arguments.seconds,
                        rounds=arguments.rounds,
                    )
                if "burst" not in skip and bursts:
                    burst = run_burst(
                        server=server,
                        client=shop,
                        customers=customers[:most],
                        sizes=bursts,
                        seconds=arguments.burst_seconds,
                        rounds=arguments.rounds,
                    )
                if "flood" not in skip:
                    print(
                        f"  flood: {arguments.flood_concurrency} connections "
                        f"for {arguments.flood_seconds:.0f} s ...",
                        flush=True,
                    )
                    flood = run_flood(
                        server=server,
                        token=flood_shop.access_token(server),
                        customer_token=shop.access_token(server),
                        victim=victim,
                        customer=real_customer,
                        concurrency=arguments.flood_concurrency,
                        seconds=arguments.flood_seconds,
                    )
                alive = server.process.poll() is None
                healthy = False
                with suppress(httpx.HTTPError):
                    healthy = httpx.get(server.url + "/healthz", timeout=5).status_code == 200
            finally:
                if arguments.keep_log:
                    server.stop()
                    arguments.keep_log.write_bytes(server.log_path.read_bytes())
            reference = None
            if "flood" not in skip and arguments.reference_seconds > 0:
                reference = run_reference(
                    directory=Path(directory),
                    env=env,
                    concurrency=arguments.flood_concurrency,
                    seconds=arguments.reference_seconds,
                )
            print()
            if "throughput" not in skip:
                met.append(
                    report_throughput(
                        throughput,
                        threads=arguments.concurrency,
                        rounds=arguments.rounds,
                        seconds=arguments.seconds,
                    )
                )
            if "burst" not in skip and bursts:
                met.extend(report_burst(burst, rounds=arguments.rounds, seconds=arguments.burst_seconds))
            if "flood" not in skip:
                met.extend(
                    report_flood(
                        flood,
                        concurrency=arguments.flood_concurrency,
                        budget=budget,
                        pool_workers=pool_workers,
                        memory_kib=memory_kib,
                        reference=reference,
                    )
                )
            print(
                f"  server after the run: {'running' if alive else 'EXITED'}, "
                f"/healthz {'200' if healthy else 'not answering'}"
            )
        report_server_log(server)
    print(f"Summary: {sum(met)}/{len(met)} goals met" + ("" if all(met) else " -- see MISSED above"))
    return 0 if all(met) and alive and healthy else 1


if __name__ == "__main__":
    sys.exit(main())
