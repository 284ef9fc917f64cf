"""Audit trail on PostgreSQL: transactions per second with the trail, without it, and with a naive chain;
then verification speed in events per second.

One command. Against a PostgreSQL server named by ``--database-url`` (an admin
URL; default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) it
creates a scratch database ``privacy_bench_<random>`` through an AUTOCOMMIT
connection, migrates it with the project's migrations, runs, and drops it.

**Append.** Issue "Tamper-evident audit trail" names the goal: with the audit
trail, at least 0.8x the transactions per second of the same transactions
without it. ``--writers`` threads (default 8) each commit, in a loop, one
transaction holding one small business row (an order of a few columns, in a
table of the benchmark's own) and, depending on the contender:

- ``without trail``: nothing else;
- ``with trail``: its audit event, through ``audit.record`` in the same unit
  of work, written as it commits, exactly as a service does; a real
  ``privacy-service worker`` process (default settings: a batch of
  ``PRIVACY_AUDIT_SEAL_BATCH`` events sealed per second, checkpoints) seals
  them meanwhile, on the same cores;
- ``event own trip``: as ``with trail``, but the event's INSERT is sent in a
  round trip of its own before the COMMIT instead of in the COMMIT's (the
  figure that keeps ``work/pg_pipeline.py``);
- ``naive chain``: the event sealed inside the transaction, as a design without
  a separate sealer must: ``SELECT ... FOR UPDATE`` on a one-row chain head,
  the SHA-256 of the event's canonical encoding (the project's own
  ``ChainedEvent.hash_at``), the sealed event inserted into a copy of
  ``audit_events`` (same columns, constraints and indexes), the head updated.
  Every writer queues on that lock until the holder has committed.

Each writer has its own pooled connection, ORM session (SQLAlchemy 2.0) and
unit of work (``Work``, which commits each transaction): the service's path.
Contenders alternate round by round (``--rounds`` of ``--seconds`` each, after
a short warm-up); the best round of each counts, so a burst of load from
elsewhere hurts none in particular; each with-trail round against the
without-trail round just before it is printed too, with their median, which a
single lucky round cannot move. After a ``with
trail`` round the benchmark waits (untimed) until the worker has sealed
everything, and prints how many events were still unsealed when the round
ended: the sealer kept up when that is about one second's worth or less.

**Verify.** A second scratch database receives ``--events`` sealed events
(default 1,000,000), chained with the project's canonical hashing and bulk
loaded with ``COPY``, with a signed checkpoint every 1,000 events; then
``verify_chain`` checks them all, as ``privacy-service audit verify`` does
(streaming in batches of 1,000, every hash, link and checkpoint signature).
Printed: events per second, next to the rate of recomputing the hashes alone in
memory (the ceiling, with no database).

    .venv/bin/python benchmarks/audit_append.py [--database-url postgresql+psycopg://...]
        [--writers 8] [--seconds 10] [--rounds 5] [--events 1000000] [--skip append|verify]

The load generator, PostgreSQL, the worker and whatever else the machine runs
share its cores: compare runs, not single figures. Each round prints the share
of the machine's CPU time the hypervisor took for other guests (``steal``, from
``/proc/stat``): rounds with much of it say little. Exits 1 if the goal is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, String, create_engine, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from privacy_service.audit import Action, Outcome, Party, PartyType, record, verify_chain
from privacy_service.audit.canonical import GENESIS_HASH, ChainedEvent, checkpoint_message
from privacy_service.audit.models import AuditEvent
from privacy_service.core import migrations
from privacy_service.core.clock import SystemClock
from privacy_service.core.ids import new_id
from privacy_service.crypto import LocalKeyFile
from privacy_service.crypto.signing import generate_signing_key, public_key_of, sign
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.service import Keyring
from privacy_service.work import Work
from privacy_service.work.at_commit import write

import steal
from scratch import scratch_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GOAL_VERSUS_WITHOUT = 0.8
WARMUP_SECONDS = 1.0
CHECKPOINT_EVERY = 1000
COPY_CHUNK = 50_000
IN_MEMORY_SAMPLE = 20_000
CONTENDERS = ("without trail", "with trail", "event own trip", "naive chain")
SHOP = Party(type=PartyType.CLIENT, id="bench-shop")


class BenchBase(DeclarativeBase):
    """The benchmark's own tables, apart from the service's metadata."""


class Order(BenchBase):
    """The small business row each transaction commits."""

    __tablename__ = "bench_orders"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    shop: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int]


# --- Databases ------------------------------------------------------------------------------------


def migrated_engine(url: str, *, pool_size: int) -> Engine:
    engine = create_engine(url, pool_size=pool_size, max_overflow=0)
    migrations.upgrade(engine)
    return engine


# --- Append ---------------------------------------------------------------------------------------


def new_order(index: int) -> Order:
    return Order(id=new_id(), shop="bench-shop", status="paid", amount_cents=1000 + index % 5000)


def without_trail(work: Work, index: int) -> None:
    work.session.add(new_order(index))


def with_trail(work: Work, index: int) -> None:
    order = new_order(index)
    work.session.add(order)
    record(
        work,
        actor=SHOP,
        action=Action.SENSITIVE_UPDATE,
        target=Party(type=PartyType.CLIENT, id=order.id),
        outcome=Outcome.SUCCESS,
    )


def event_own_trip(work: Work, index: int) -> None:
    """``with trail``, but the event's INSERT goes in a round trip of its own before the COMMIT: what the
    unit of work's pipeline (``work/at_commit.py``) saves, measured against it in the same run."""
    with_trail(work, index)
    rows, work._rows = work._rows, []  # the benchmark sends them itself, as a statement
    write(work.session.connection(), rows, commit=False)


def naive_chain(work: Work, index: int) -> None:
    """Seal inside the transaction: lock the head, hash, insert sealed, move the head."""
    session = work.session
    order = new_order(index)
    session.add(order)
    session.flush()  # the business change first, as a service would write it before its event
    seq, prev_hash = session.execute(
        text("SELECT seq, hash FROM naive_chain_head WHERE id = 1 FOR UPDATE")
    ).one()
    now = work.clock.now()
    event = ChainedEvent(
        id=new_id(),
        at=now,
        actor_type=SHOP.type.value,
        actor_id=SHOP.id,
        action=Action.SENSITIVE_UPDATE.value,
        target_type=PartyType.CLIENT.value,
        target_id=order.id,
        outcome=Outcome.SUCCESS.value,
        request_id=None,
        subject_id=None,
        details=None,
    )
    seq += 1
    event_hash = event.hash_at(seq=seq, prev_hash=prev_hash, sealed_at=now)
    session.execute(
        text(
            "INSERT INTO naive_audit_events (id, seq, at, actor_type, actor_id, action, target_type, "
            "target_id, outcome, prev_hash, hash, sealed_at) VALUES (:id, :seq, :at, :actor_type, "
            ":actor_id, :action, :target_type, :target_id, :outcome, :prev_hash, :hash, :sealed_at)"
        ),
        {
            "id": event.id,
            "seq": seq,
            "at": now,
            "actor_type": event.actor_type,
            "actor_id": event.actor_id,
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "outcome": event.outcome,
            "prev_hash": prev_hash,
            "hash": event_hash,
            "sealed_at": now,
        },
    )
    session.execute(
        text("UPDATE naive_chain_head SET seq = :seq, hash = :hash WHERE id = 1"),
        {"seq": seq, "hash": event_hash},
    )


TRANSACTIONS: dict[str, Callable[[Work, int], None]] = {
    "without trail": without_trail,
    "with trail": with_trail,
    "event own trip": event_own_trip,
    "naive chain": naive_chain,
}


def prepare_append_tables(engine: Engine) -> None:
    BenchBase.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE naive_audit_events (LIKE audit_events INCLUDING ALL)"))
        connection.execute(
            text("CREATE TABLE naive_chain_head (id integer PRIMARY KEY, seq bigint, hash text)")
        )
        connection.execute(
            text("INSERT INTO naive_chain_head VALUES (1, 0, :genesis)"), {"genesis": GENESIS_HASH}
        )


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process so far (0 when it is gone or not ours to read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@dataclass
class CpuProbe:
    """CPU used by this load generator, the worker, and the PostgreSQL backends of the scratch database
    (readable when the server runs on this machine as a user whose /proc entries we may read)."""

    engine: Engine
    worker_pid: int

    def backends(self) -> list[int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
            return list(rows)

    def sample(self, backends: list[int]) -> tuple[float, float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return (
            usage.ru_utime + usage.ru_stime,
            sum(process_cpu_seconds(pid) for pid in backends),
            process_cpu_seconds(self.worker_pid),
        )


@dataclass
class Round:
    contender: str
    transactions: int
    seconds: float
    errors: int
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # load generator, PostgreSQL, worker: seconds
    stolen: float | None = None  # share of the machine's CPU time the hypervisor took in the window
    unsealed_at_end: int | None = None

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds

    def cpu_ms_per_transaction(self) -> tuple[float, float, float]:
        count = max(1, self.transactions)
        client, database, worker = self.cpu
        return client * 1000 / count, database * 1000 / count, worker * 1000 / count


def run_round(
    sessions: sessionmaker[Session],
    keyring: Keyring,
    contender: str,
    *,
    writers: int,
    seconds: float,
    probe: CpuProbe,
) -> Round:
    """``writers`` threads commit ``contender``'s transaction in a loop; count commits inside the window."""
    transaction = TRANSACTIONS[contender]
    start = threading.Event()
    stop = threading.Event()
    window: dict[str, float] = {}
    counts = [0] * writers
    errors = [0] * writers

    def writer(slot: int) -> None:
        index = 0
        with sessions() as session:
            work = Work(session=session, clock=SystemClock(), keyring=keyring)
            start.wait()
            while not stop.is_set():
                index += 1
                try:
                    transaction(work, index)
                    work.commit()
                except Exception:
                    work.rollback()
                    errors[slot] += 1
                    continue
                if "from" in window:
                    counts[slot] += 1

    threads = [threading.Thread(target=writer, args=(slot,), daemon=True) for slot in range(writers)]
    for thread in threads:
        thread.start()
    start.set()
    time.sleep(WARMUP_SECONDS)
    backends = probe.backends()
    before, jiffies_before = probe.sample(backends), steal.cpu_jiffies()
    window["from"] = time.perf_counter()
    time.sleep(seconds)
    measured = [*counts]
    elapsed = time.perf_counter() - window["from"]
    after, jiffies_after = probe.sample(backends), steal.cpu_jiffies()
    stop.set()
    for thread in threads:
        thread.join()
    cpu = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    return Round(
        contender=contender,
        transactions=sum(measured),
        seconds=elapsed,
        errors=sum(errors),
        cpu=cpu,
        stolen=steal.steal_share(jiffies_before, jiffies_after),
    )


def unsealed(engine: Engine) -> int:
    with engine.connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None)))
            or 0
        )


def wait_until_sealed(engine: Engine, worker: subprocess.Popen[bytes], limit_seconds: float = 600) -> float:
    started = time.perf_counter()
    while unsealed(engine) > 0:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode}")
        if time.perf_counter() - started > limit_seconds:
            raise SystemExit("the worker did not seal the backlog within 10 minutes")
        time.sleep(0.1)
    return time.perf_counter() - started


def wait_until_ready(engine: Engine, worker: subprocess.Popen[bytes], limit_seconds: float = 120) -> None:
    """The worker has started (its first checkpoint is written), so its start-up is not measured."""
    started = time.perf_counter()
    while True:
        with engine.connect() as connection:
            if connection.scalar(text("SELECT count(*) FROM audit_checkpoints")):
                return
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode}")
        if time.perf_counter() - started > limit_seconds:
            raise SystemExit("the worker wrote no checkpoint within 2 minutes")
        time.sleep(0.1)


@contextmanager
def running_worker(url: str, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``privacy-service worker`` with its default settings on the scratch database."""
    environment = {key: value for key, value in os.environ.items() if not key.upper().startswith("PRIVACY_")}
    environment.update(PRIVACY_DATA_DIR=str(data_dir), PRIVACY_DATABASE_URL=url)
    log = (data_dir / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "privacy_service", "worker"],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


def bench_append(admin_url: str, *, writers: int, seconds: float, rounds: int) -> bool:
    print(f"\nAppend: {writers} writers, {rounds} alternating rounds of {seconds:.0f} s per contender")
    results: dict[str, list[Round]] = {name: [] for name in CONTENDERS}
    with scratch_database(admin_url) as url, tempfile.TemporaryDirectory() as data_dir:
        engine = migrated_engine(url, pool_size=writers + 2)
        prepare_append_tables(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        # The worker's own key file, made before it starts (audit events of no subject use no key).
        keyring = Keyring(
            provider=LocalKeyFile.open_or_create(Path(data_dir) / "keys.json"),
            clock=SystemClock(),
            cache=DataKeyCache(max_entries=0, ttl_seconds=0),
        )
        with running_worker(url, Path(data_dir)) as worker:
            wait_until_ready(engine, worker)
            probe = CpuProbe(engine=engine, worker_pid=worker.pid)
            for number in range(1, rounds + 1):
                for contender in CONTENDERS:
                    result = run_round(
                        sessions, keyring, contender, writers=writers, seconds=seconds, probe=probe
                    )
                    line = (
                        f"  round {number}  {contender:<14} {result.per_second:>9.1f} tx/s"
                        f"   steal {steal.percent(result.stolen):>4}"
                    )
                    if contender == "with trail":
                        result.unsealed_at_end = unsealed(engine)
                        drained = wait_until_sealed(engine, worker)
                        line += (
                            f"   unsealed at the end: {result.unsealed_at_end} (sealed {drained:.1f} s later)"
                        )
                    if result.errors:
                        line += f"   errors: {result.errors}"
                    print(line, flush=True)
                    results[contender].append(result)
        engine.dispose()
    best = {name: max(each.per_second for each in rounds_) for name, rounds_ in results.items()}
    print(
        f"\n  {'':<16}{'best tx/s':>11}{'mean tx/s':>11}{'vs without':>12}"
        f"   CPU ms per transaction (best round): generator + PostgreSQL + worker = total"
    )
    for name in CONTENDERS:
        mean = sum(each.per_second for each in results[name]) / len(results[name])
        best_round = max(results[name], key=lambda each: each.per_second)
        client, database, worker_cpu = best_round.cpu_ms_per_transaction()
        print(
            f"  {name:<16}{best[name]:>11.1f}{mean:>11.1f}{best[name] / best['without trail']:>11.2f}x"
            f"   {client:.2f} + {database:.2f} + {worker_cpu:.2f} = {client + database + worker_cpu:.2f}"
        )
    paired = [
        with_trail.per_second / without.per_second
        for without, with_trail in zip(results["without trail"], results["with trail"], strict=True)
    ]
    print(
        f"  each with-trail round / the without-trail one before it: {statistics.median(paired):.2f}x median"
        "   " + " ".join(f"{each:.2f}" for each in paired)
    )
    ratio = best["with trail"] / best["without trail"]
    met = ratio >= GOAL_VERSUS_WITHOUT
    verdict = "met" if met else "MISSED"
    print(f"  goal: with trail >= {GOAL_VERSUS_WITHOUT}x without: {ratio:.2f}x, {verdict}")
    print(f"  naive chain vs with trail: {best['naive chain'] / best['with trail']:.2f}x")
    own_trip = [
        with_trail.per_second / own.per_second
        for with_trail, own in zip(results["with trail"], results["event own trip"], strict=True)
    ]
    print(
        "  the pipeline (event with the COMMIT) vs the event in a round trip of its own: "
        f"{best['with trail'] / best['event own trip']:.2f}x best rounds, {statistics.median(own_trip):.2f}x"
        " paired median   " + " ".join(f"{each:.2f}" for each in own_trip)
    )
    return met


# --- Verify ---------------------------------------------------------------------------------------

_COPY_COLUMNS = (
    "id",
    "seq",
    "at",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "request_id",
    "subject_id",
    "details",
    "prev_hash",
    "hash",
    "sealed_at",
)


#: One generated event in RARE_EVERY is an officer reading one subject's data: what a filtered page of
#: the trail looks for (benchmarks/console.py), by its action, its actor or its target, each found
#: nowhere else in the chain.
RARE_EVERY = 10_000
RARE_ACTOR = Party(type=PartyType.USER, id="bench-officer")
RARE_ACTION = Action.SENSITIVE_READ
RARE_TARGET = Party(type=PartyType.SUBJECT, id="bench-subject")


@dataclass
class Generated:
    events: int = 0
    checkpoints: int = 0
    sample: list[ChainedEvent] = field(default_factory=list)


def generate_chain(
    engine: Engine, *, events: int, progress: Callable[[int], None]
) -> tuple[Generated, dict[str, bytes]]:
    """Load ``events`` sealed events and a signed checkpoint every 1,000 of them, as COPY streams; one event
    in ``RARE_EVERY`` is the rare one of the filtered pages."""
    private_key = generate_signing_key()
    key_id = new_id()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    generated = Generated()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_signing_keys (id, public_key, private_key, kek_version, created_at) "
                "VALUES (:id, :public_key, :private_key, 1, :created_at)"
            ),
            {
                "id": key_id,
                "public_key": public_key_of(private_key),
                "private_key": b"unused",
                "created_at": base,
            },
        )
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection  # psycopg's own, for COPY
        assert driver is not None
        handle = driver.cursor()
        prev_hash = GENESIS_HASH
        seq = 0
        checkpoint_number = 0
        while seq < events:
            chunk_end = min(events, seq + COPY_CHUNK)
            rows: list[tuple[object, ...]] = []
            checkpoints: list[tuple[object, ...]] = []
            while seq < chunk_end:
                seq += 1
                at = base + timedelta(microseconds=seq * 1000)
                sealed_at = at + timedelta(milliseconds=500)
                rare = seq % RARE_EVERY == RARE_EVERY // 2
                event = ChainedEvent(
                    id=f"E{seq:025d}",
                    at=at,
                    actor_type=RARE_ACTOR.type.value if rare else "client",
                    actor_id=RARE_ACTOR.id if rare else "bench-shop",
                    action=(RARE_ACTION if rare else Action.SENSITIVE_UPDATE).value,
                    target_type=RARE_TARGET.type.value if rare else "client",
                    target_id=RARE_TARGET.id if rare else f"order-{seq}",
                    outcome=Outcome.SUCCESS.value,
                    request_id=f"req-{seq}",
                    subject_id=None,
                    details=None,
                )
                event_hash = event.hash_at(seq=seq, prev_hash=prev_hash, sealed_at=sealed_at)
                rows.append(
                    (
                        event.id,
                        seq,
                        at,
                        event.actor_type,
                        event.actor_id,
                        event.action,
                        event.target_type,
                        event.target_id,
                        event.outcome,
                        event.request_id,
                        None,  # subject_id
                        None,  # details
                        prev_hash,
                        event_hash,
                        sealed_at,
                    )
                )
                if len(generated.sample) < IN_MEMORY_SAMPLE:
                    generated.sample.append(
                        replace(event, seq=seq, prev_hash=prev_hash, hash=event_hash, sealed_at=sealed_at)
                    )
                prev_hash = event_hash
                if seq % CHECKPOINT_EVERY == 0:
                    checkpoint_number += 1
                    message = checkpoint_message(
                        number=checkpoint_number, seq=seq, hash=event_hash, at=sealed_at, key_id=key_id
                    )
                    checkpoints.append(
                        (
                            checkpoint_number,
                            seq,
                            event_hash,
                            sealed_at,
                            key_id,
                            sign(private_key=private_key, message=message),
                        )
                    )
            with handle.copy(f"COPY audit_events ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with handle.copy(
                "COPY audit_checkpoints (number, seq, hash, at, key_id, signature) FROM STDIN"
            ) as copy:
                for checkpoint in checkpoints:
                    copy.write_row(checkpoint)
            driver.commit()
            generated.events = seq
            generated.checkpoints = checkpoint_number
            progress(seq)
        handle.execute("ANALYZE audit_events")
        handle.execute("ANALYZE audit_checkpoints")
        driver.commit()
    finally:
        raw.close()
    return generated, {key_id: public_key_of(private_key)}


def bench_verify(admin_url: str, *, events: int) -> None:
    print(f"\nVerify: {events:,} sealed events, a signed checkpoint every {CHECKPOINT_EVERY:,}")
    with scratch_database(admin_url) as url:
        engine = migrated_engine(url, pool_size=2)
        started = time.perf_counter()
        last_shown = [0.0]

        def loading(done: int) -> None:
            if time.perf_counter() - last_shown[0] > 5 or done == events:
                last_shown[0] = time.perf_counter()
                print(f"  loaded {done:,} events ({time.perf_counter() - started:.0f} s)", flush=True)

        generated, keys = generate_chain(engine, events=events, progress=loading)
        with Session(engine) as session:
            started = time.perf_counter()
            report = verify_chain(session=session, public_keys=keys)
            elapsed = time.perf_counter() - started
        engine.dispose()
    if not report.ok or report.events_checked != events:
        raise SystemExit(f"verification failed on the generated chain: {report.to_json()}")
    # The ceiling: recomputing hashes in memory, no database.
    sample = generated.sample
    started = time.perf_counter()
    for event in sample:
        event.hash_matches()
    in_memory = len(sample) / (time.perf_counter() - started)
    rate = events / elapsed
    print(f"  verify_chain: {events:,} events and {generated.checkpoints:,} checkpoints in {elapsed:.1f} s")
    print(
        f"  {rate:,.0f} events/s; hashes alone in memory: {in_memory:,.0f} events/s ({rate / in_memory:.2f}x)"
    )
    print(f"  1,000,000 events would take about {1_000_000 / rate:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help=f"PostgreSQL admin URL (default {DEFAULT_URL})"
    )
    parser.add_argument("--writers", type=int, default=8, help="concurrent writer threads (default 8)")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per round (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per contender (default 5)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to verify (default 1,000,000)")
    parser.add_argument("--skip", choices=["append", "verify"], help="leave one part out")
    arguments = parser.parse_args(argv)
    if arguments.writers < 1 or arguments.rounds < 1 or arguments.events < 1 or arguments.seconds <= 0:
        parser.error("--writers, --rounds, --events and --seconds must be positive")
    if not arguments.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"privacy-service audit trail benchmark on PostgreSQL (scratch databases); {cores} usable cores "
        "shared by PostgreSQL, the worker and this load generator"
    )
    met = True
    if arguments.skip != "append":
        met = bench_append(
            arguments.database_url,
            writers=arguments.writers,
            seconds=arguments.seconds,
            rounds=arguments.rounds,
        )
    if arguments.skip != "verify":
        bench_verify(arguments.database_url, events=arguments.events)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
