"""A year of 100,000 requests: its figures (``GET /v1/dsr/stats``) and the purge of old records.

Issue 22: the figures are computed in SQL and must stay fast on 100,000
requests. One command; for each database (``--database sqlite``, ``postgres``
or ``both``, the default) it works on a scratch database: a temporary SQLite
file, or ``privacy_bench_<random>`` created through the admin URL
``--database-url`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``),
migrated and dropped afterwards, whatever happens.

**Data.** ``--requests`` requests (default 100,000) received over 2026, with
1 to 3 tasks each, of mixed types, jurisdictions and states (mostly answered,
some rejected, failed or open), by ``console.seeded_request`` (the console
benchmark's generator), inserted in bulk (``COPY`` on PostgreSQL).

**Measured**, in this process, as the route calls them:

- ``stats.year_figures`` for 2026 (every request of the table in the year):
  ``--runs`` timed runs after one warm-up, each in a session of its own, with
  the requests counted (must be all of them); in alternating rounds with the
  contender **ranked in SQL**, the same figures with the medians taken by
  window functions in the database (``row_number()`` and ``count(*)`` over
  each type and each type in a jurisdiction, only the middle rows returned),
  which must give the same medians. Printed: the median wall-clock time and
  this process's CPU (which on SQLite is the database's too);
- ``records.purge_ended_requests`` on the clock of 1 January 2029 (every
  ended request is past its 24 months): ``--purges`` runs of one batch each
  (1,000 requests with their tasks, by ``ON DELETE CASCADE``, and the run's
  audit event), each committed; the median per batch.

    .venv/bin/python benchmarks/dsr_stats.py [--database both|sqlite|postgres]
        [--database-url postgresql+psycopg://...] [--requests 100000] [--runs 7] [--purges 5]

No goal is asserted beyond the count; compare runs, not single figures.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core import migrations
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.core.db import create_engine_for
from privacy_service.core.ids import new_id
from privacy_service.crypto import LocalKeyFile
from privacy_service.dsr.models import DsrRequest, DsrTask
from privacy_service.dsr.records import PURGE_BATCH, purge_ended_requests
from privacy_service.dsr.schemas import YearFigures
from privacy_service.dsr.stats import days_to_answer, year_figures
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.service import Keyring
from privacy_service.policy import Period, Policies, load_policies
from privacy_service.work import Workplace

from console import SEED, SUBJECTS, Seeded, copy_rows, seeded_request
from scratch import scratch_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POLICIES = Path(__file__).resolve().parents[1] / "policies"
YEAR = 2026
#: ``seeded_request`` receives requests over the 365 days before this: all of them in 2026.
END_OF_YEAR = datetime(YEAR + 1, 1, 1, tzinfo=UTC)
PURGE_CLOCK = datetime(2029, 1, 1, tzinfo=UTC)
INSERT_CHUNK = 10_000


@contextmanager
def migrated(database: str, admin_url: str, directory: Path) -> Iterator[Engine]:
    """A migrated scratch database of the kind asked, as the service's engine opens it."""
    if database == "sqlite":
        settings = Settings(
            _env_file=None, data_dir=directory, database_url=f"sqlite:///{directory / 'bench.db'}"
        )  # type: ignore[call-arg]
        engine = create_engine_for(settings)
        try:
            migrations.upgrade(engine)
            yield engine
        finally:
            engine.dispose()
        return
    with scratch_database(admin_url) as url:
        settings = Settings(_env_file=None, data_dir=directory, database_url=url)  # type: ignore[call-arg]
        engine = create_engine_for(settings)
        try:
            migrations.upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def seed(engine: Engine, *, count: int) -> None:
    rng = random.Random(SEED)
    subjects = [new_id() for _ in range(SUBJECTS)]
    shop_id, officer_id = new_id(), new_id()
    seeded: list[Seeded] = [
        seeded_request(
            rng, now=END_OF_YEAR, subject_id=rng.choice(subjects), shop_id=shop_id, officer_id=officer_id
        )
        for _ in range(count)
    ]
    requests = [each.request for each in seeded]
    tasks = [task for each in seeded for task in each.tasks]
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            cursor = driver.cursor()
            copy_rows(cursor, "dsr_requests", requests)
            copy_rows(cursor, "dsr_tasks", tasks)
            driver.commit()
            cursor.execute("ANALYZE dsr_requests")
            cursor.execute("ANALYZE dsr_tasks")
            driver.commit()
        finally:
            raw.close()
        return
    with engine.begin() as connection:
        for table, rows in ((DsrRequest.__table__, requests), (DsrTask.__table__, tasks)):
            for start in range(0, len(rows), INSERT_CHUNK):
                connection.execute(insert(table), rows[start : start + INSERT_CHUNK])
        connection.exec_driver_sql("ANALYZE")


def medians_ranked_in_sql(session: Session, *, year: int) -> dict[tuple[str, str | None], float]:
    """The contender: each group's median from its middle rows, ranked by window functions in SQL."""
    received = [DsrRequest.received_at >= datetime(year, 1, 1, tzinfo=UTC)]
    received.append(DsrRequest.received_at < datetime(year + 1, 1, 1, tzinfo=UTC))
    days = days_to_answer(session.get_bind().dialect.name)
    by_type, by_law = [DsrRequest.type], [DsrRequest.type, DsrRequest.jurisdiction]
    ranked = (
        select(
            DsrRequest.type.label("kind"),
            DsrRequest.jurisdiction.label("law"),
            days.label("days"),
            func.row_number().over(partition_by=by_type, order_by=days).label("type_rank"),
            func.count().over(partition_by=by_type).label("type_count"),
            func.row_number().over(partition_by=by_law, order_by=days).label("law_rank"),
            func.count().over(partition_by=by_law).label("law_count"),
        )
        .where(*received, DsrRequest.completed_at.is_not(None))
        .subquery()
    )
    c = ranked.c
    middle_rows = session.execute(
        select(ranked).where(
            or_(
                c.type_rank == (c.type_count + 1) // 2,
                c.type_rank == (c.type_count + 2) // 2,
                c.law_rank == (c.law_count + 1) // 2,
                c.law_rank == (c.law_count + 2) // 2,
            )
        )
    ).all()
    middles: dict[tuple[str, str | None], list[float]] = {}
    for row in middle_rows:
        if row.type_rank in {(row.type_count + 1) // 2, (row.type_count + 2) // 2}:
            middles.setdefault((row.kind, None), []).append(row.days)
        if row.law_rank in {(row.law_count + 1) // 2, (row.law_count + 2) // 2}:
            middles.setdefault((row.kind, row.law), []).append(row.days)
    return {group: round(sum(values) / len(values), 1) for group, values in middles.items()}


def ranked_in_sql(session: Session, *, policies: Policies, year: int) -> dict[tuple[str, str | None], float]:
    """What ``year_figures`` reads, with the medians of the contender (the counts as shipped)."""
    year_figures(session=session, policies=policies, year=year)  # its counts; its medians are dropped
    return medians_ranked_in_sql(session, year=year)


def shipped_medians(figures: YearFigures) -> dict[tuple[str, str | None], float]:
    medians: dict[tuple[str, str | None], float] = {}
    for kind in ("access", "erasure"):
        overall = getattr(figures, kind).median_days
        if overall is not None:
            medians[(kind, None)] = overall
        for law, each in figures.by_jurisdiction.items():
            if getattr(each, kind).median_days is not None:
                medians[(kind, law)] = getattr(each, kind).median_days
    return medians


def time_figures(engine: Engine, *, runs: int, requests: int) -> dict[str, list[tuple[float, float]]]:
    """Wall-clock and CPU seconds of each run, shipped and contender in alternating rounds."""
    policies = load_policies(POLICIES, environ={})
    sessions = sessionmaker(bind=engine)
    timings: dict[str, list[tuple[float, float]]] = {"shipped": [], "ranked in SQL": []}
    for run in range(runs + 1):  # the first round warms the caches up
        with sessions() as session:
            wall, cpu = time.perf_counter(), time.process_time()
            figures = year_figures(session=session, policies=policies, year=YEAR)
            shipped = (time.perf_counter() - wall, time.process_time() - cpu)
        with sessions() as session:
            wall, cpu = time.perf_counter(), time.process_time()
            contender = ranked_in_sql(session, policies=policies, year=YEAR)
            ranked = (time.perf_counter() - wall, time.process_time() - cpu)
        counted = figures.access.received + figures.erasure.received
        assert counted == requests, f"counted {counted:,} of {requests:,} requests"
        assert shipped_medians(figures) == contender, "the contender's medians differ"
        if run:
            timings["shipped"].append(shipped)
            timings["ranked in SQL"].append(ranked)
    print(
        f"    {YEAR}: access {figures.access.received:,} (median {figures.access.median_days} days), "
        f"erasure {figures.erasure.received:,} (median {figures.erasure.median_days} days), "
        f"{len(figures.by_jurisdiction)} jurisdictions"
    )
    return timings


def time_purges(engine: Engine, *, purges: int, directory: Path) -> list[float]:
    clock = FrozenClock(PURGE_CLOCK)
    keyring = Keyring(
        provider=LocalKeyFile.open_or_create(directory / "keys.json"),
        clock=clock,
        cache=DataKeyCache(max_entries=10, ttl_seconds=60),
    )
    workplace = Workplace(
        sessions=sessionmaker(bind=engine, expire_on_commit=False), clock=clock, keyring=keyring
    )
    timings = []
    for _ in range(purges):
        started = time.perf_counter()
        with workplace.open() as work:
            purged = purge_ended_requests(work, keep=Period(months=24))
        timings.append(time.perf_counter() - started)
        assert purged == PURGE_BATCH, f"purged {purged} requests, not a batch of {PURGE_BATCH}"
    with Session(engine) as session:
        orphans = session.scalar(
            select(func.count()).select_from(DsrTask).where(~DsrTask.request_id.in_(select(DsrRequest.id)))
        )
    assert orphans == 0, f"{orphans} tasks outlived their request"
    return timings


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help=f"PostgreSQL admin URL (default {DEFAULT_URL})"
    )
    parser.add_argument("--requests", type=int, default=100_000, help="requests received in 2026")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of the figures (default 7)")
    parser.add_argument("--purges", type=int, default=5, help="timed purge batches (default 5)")
    arguments = parser.parse_args(argv)
    if arguments.requests < arguments.purges * PURGE_BATCH or arguments.runs < 1:
        parser.error("--runs must be at least 1, and --requests hold every purge batch")
    databases = ["sqlite", "postgres"] if arguments.database == "both" else [arguments.database]
    for database in databases:
        print(f"{database}: {arguments.requests:,} requests", flush=True)
        with (
            tempfile.TemporaryDirectory(prefix="privacy-bench-") as directory,
            migrated(database, arguments.database_url, Path(directory)) as engine,
        ):
            started = time.perf_counter()
            seed(engine, count=arguments.requests)
            print(f"    seeded in {time.perf_counter() - started:.1f} s", flush=True)
            for name, runs in time_figures(engine, runs=arguments.runs, requests=arguments.requests).items():
                wall = statistics.median(run[0] for run in runs)
                cpu = statistics.median(run[1] for run in runs)
                print(
                    f"  year_figures, {name}: median {ms(wall)}, CPU of this process {ms(cpu)} "
                    f"({arguments.runs} runs)",
                    flush=True,
                )
            purges = time_purges(engine, purges=arguments.purges, directory=Path(directory))
            print(
                f"  purge_ended_requests: median {ms(statistics.median(purges))} a batch of {PURGE_BATCH:,} "
                f"requests with their tasks ({arguments.purges} batches)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
