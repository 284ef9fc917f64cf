"""Export bundle: building and downloading it for a subject with 10,000 records over 20 systems (issue 22).

One command, on a scratch PostgreSQL database by default (``--database-url``
is the admin connection; the database is created, migrated and dropped
afterwards) or on a temporary SQLite file (``--database sqlite``). Settings
are the production defaults (every ``PRIVACY_*`` variable of the caller's
environment is dropped), with a temporary data directory and key file.

**Setup**, through the services: a subject (``vault.create_subject``) with a
profile and a few records of their own; ``--systems`` downstream systems
(default 20, registered with ``dsr.systems.register_system``, never
contacted); an access request filed by a shop backend
(``dsr.service.file_request``); each system's task completed with
``--records`` records (default 500, 300-600 bytes of JSON each: orders with
their items and delivery address, seeded, so every run has the same data)
by ``dsr.closing.complete_task``, which stores the answer encrypted under the
subject's key as a real answer is. The request is left open: the benchmark
builds its export itself.

**Contenders**, each in a fresh process of its own (so its resident-memory
high-water mark is its own), after a warm-up round timed over ``--rounds``
rounds (median counts), each in its own unit of work that commits, their
rounds alternating so the machine's other load hits them alike; then measured
once more under ``tracemalloc`` for its peak of Python allocations. The
whole-ZIP contenders work on a second subject with the same data, since they
write the export row their own way:

- *store, streaming*: ``dsr.bundle.store_export``, as closing the request
  runs it: the bundle written a file at a time, sealed a segment at a time,
  each segment inserted as it fills;
- *download, streaming*: ``dsr.exports.download_export`` and every byte of
  ``bundle_content`` (what ``GET /v1/dsr/{id}/export`` streams), hashed to
  check it against the ``Digest``;
- *store, whole ZIP (before)*: the code this replaced, copied below (git
  2660d52^): every task with its answer loaded, every answer opened, the ZIP
  built in a ``BytesIO``, encrypted as one field and written to the row;
- *download, whole ZIP (before)*: that field read back and opened whole.

**Limits** (printed as ratios): time against the floor, for the store a plain
``zipfile`` of the same files in memory plus one raw AES-256-GCM encryption of
the bundle's bytes, for the download one raw AES-256-GCM decryption of them
(no database, no key derivation, nothing streamed); memory against the
bundle's own size: the tracemalloc peak, and how far the process's resident
set rose over the rounds (its high-water mark, reset after the warm-up
through ``/proc/self/clear_refs`` and read as ``VmHWM``, less its size before
them; see ``_contender`` for why not ``getrusage``).

    .venv/bin/python benchmarks/bundle.py [--database postgres|sqlite]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--systems 20] [--records 500] [--rounds 5]

About a minute with the defaults. The machine's other load moves the times,
not the memory: compare runs, not single figures.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Production defaults: nothing from the caller's environment or .env file.
for _name in [name for name in os.environ if name.upper().startswith("PRIVACY_")]:
    del os.environ[_name]

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from sqlalchemy import select  # noqa: E402

from privacy_service.audit.actions import SYSTEM  # noqa: E402
from privacy_service.connectors import Completed, InMemoryConnector  # noqa: E402
from privacy_service.core import migrations  # noqa: E402
from privacy_service.core.clock import SystemClock  # noqa: E402
from privacy_service.core.config import Settings  # noqa: E402
from privacy_service.core.db import create_engine_for, create_session_factory  # noqa: E402
from privacy_service.dsr import bundle as bundles  # noqa: E402
from privacy_service.dsr import service as dsr  # noqa: E402
from privacy_service.dsr.closing import complete_task  # noqa: E402
from privacy_service.dsr.encryption import BUNDLE_COLUMN, RESULT_COLUMN  # noqa: E402
from privacy_service.dsr.exports import bundle_content, download_export  # noqa: E402
from privacy_service.dsr.fulfilment import Fulfilment  # noqa: E402
from privacy_service.dsr.models import DsrExport, DsrRequest, DsrTask  # noqa: E402
from privacy_service.dsr.states import TaskStatus  # noqa: E402
from privacy_service.dsr.systems import register_system  # noqa: E402
from privacy_service.identity.principals import Principal, PrincipalKind  # noqa: E402
from privacy_service.identity.scopes import Scope  # noqa: E402
from privacy_service.keys.service import Keyring  # noqa: E402
from privacy_service.policy import RequestType, SystemRequestType, load_policies  # noqa: E402
from privacy_service.vault import service as vault  # noqa: E402
from privacy_service.vault.lookup import email_index  # noqa: E402
from privacy_service.vault.schemas import ProfileFields  # noqa: E402
from privacy_service.work import Work, Workplace  # noqa: E402

from scratch import scratch_database  # noqa: E402

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SHOP = Principal(
    kind=PrincipalKind.CLIENT, id="bench-shop", client_id="bench-shop", scopes=frozenset({Scope.DSR_WRITE})
)
MIB = 1024 * 1024


# --- The installation: one subject, their systems' answers ---------------------------------------------


class Service:
    """The database, keys, policies and fulfilment of one temporary installation, as the API holds them."""

    def __init__(self, data_dir: Path, database_url: str | None, *, migrate: bool = False) -> None:
        self.settings = Settings(_env_file=None, data_dir=data_dir, database_url=database_url)
        self.engine = create_engine_for(self.settings)
        if migrate:
            migrations.upgrade(self.engine)
        clock = SystemClock()
        keyring = Keyring.from_settings(self.settings, clock=clock)
        self.workplace = Workplace(sessions=create_session_factory(self.engine), clock=clock, keyring=keyring)
        self.fulfilment = Fulfilment.from_settings(
            self.settings,
            policies=load_policies(self.settings.effective_policies_dir, environ=os.environ),
            connector=InMemoryConnector(),
            keyring=keyring,
            emails=email_index(keyring.provider),
        )

    def close(self) -> None:
        self.engine.dispose()


PRODUCTS = [
    "linen shirt", "espresso cups (set of 4)", "trail running shoes", "wool blanket", "desk lamp",
    "cast-iron pan", "rain jacket", "noise-cancelling headphones", "yoga mat", "ceramic vase",
]  # fmt: skip
STREETS = ["Gänsemarkt", "Hauptstraße", "Rue de la Paix", "Calle Mayor", "Via Roma", "Kastanienallee"]
CITIES = [("20354", "Hamburg", "DE"), ("75002", "Paris", "FR"), ("28013", "Madrid", "ES"),
          ("00184", "Roma", "IT"), ("10435", "Berlin", "DE")]  # fmt: skip
WORDS = ["please", "leave", "the", "parcel", "with", "neighbour", "ring", "twice", "gift", "wrap", "no",
         "invoice", "in", "box", "thanks"]  # fmt: skip
STATUSES = ["delivered", "shipped", "returned", "cancelled", "refunded"]


def order(rng: random.Random, system: str, number: int) -> dict[str, Any]:
    """One realistic record of a shop system: an order with its items and delivery address."""
    postcode, city, country = rng.choice(CITIES)
    placed = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(1_000_000))
    return {
        "id": f"{system}-{number:06d}",
        "placed_at": placed.isoformat().replace("+00:00", "Z"),
        "status": rng.choice(STATUSES),
        "currency": "EUR",
        "items": [
            {
                "sku": f"SKU-{rng.randrange(10**6):06d}",
                "name": rng.choice(PRODUCTS),
                "quantity": rng.randint(1, 3),
                "unit_price": f"{rng.randint(199, 19999) / 100:.2f}",
            }
            for _ in range(rng.randint(1, 3))
        ],
        "ship_to": {
            "name": "Henrietta Quellmalz",
            "street": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
            "postcode": postcode,
            "city": city,
            "country": country,
        },
        "payment": {
            "method": rng.choice(["card", "paypal", "invoice"]),
            "reference": f"{rng.getrandbits(64):016x}",
        },
        "tracking": f"JJD{rng.randrange(10**18):018d}",
        "note": " ".join(rng.choices(WORDS, k=rng.randint(0, 12))),
    }


@dataclass(frozen=True)
class Subject:
    subject_id: str
    request_id: str


@dataclass(frozen=True)
class Installation:
    data_dir: str
    database_url: str | None
    streaming: Subject  # the one the streaming contenders build and download
    before: Subject  # the same data again, for the whole-ZIP contenders (they write the row in their way)
    records: int
    record_bytes: int  # compact JSON, all records of one subject


def install(data_dir: Path, database_url: str | None, *, systems: int, records: int) -> Installation:
    service = Service(data_dir, database_url, migrate=True)
    try:
        with service.workplace.open() as work:
            for n in range(systems):
                register_system(
                    work, policies=service.fulfilment.policies, actor=SYSTEM, name=f"system-{n:02d}",
                    url=f"http://127.0.0.1:9/system-{n:02d}", secret="whsec_" + "QUJD" * 8,
                    request_types=(SystemRequestType.ACCESS,), categories=("orders",), timeout_seconds=5,
                )  # fmt: skip
        streaming, record_bytes = _answered_subject(service, "henrietta@example.com", records=records)
        before, _ = _answered_subject(service, "henrietta.before@example.com", records=records)
        return Installation(
            data_dir=str(data_dir), database_url=database_url, streaming=streaming, before=before,
            records=systems * records, record_bytes=record_bytes,
        )  # fmt: skip
    finally:
        service.close()


def _answered_subject(service: Service, email: str, *, records: int) -> tuple[Subject, int]:
    """A subject with a profile and records, and an access request every system answered (seeded data)."""
    rng = random.Random(22)
    with service.workplace.open() as work:
        subject_id = vault.create_subject(
            work, blind_index=service.fulfilment.emails,
            profile=ProfileFields(email=email, given_name="Henrietta", family_name="Quellmalz", country="DE",
                                  locale="de-DE"),
        ).id  # fmt: skip
        own_records: dict[str, dict[str, Any]] = {
            "address": {"street": "Gänsemarkt 44", "postcode": "20354", "city": "Hamburg"},
            "phone": {"number": "+49 40 1234567"},
            "consent": {"newsletter": True, "profiling": False, "given_at": "2025-03-01T10:00:00Z"},
        }
        for category, data in own_records.items():
            vault.put_record(work, subject_id=subject_id, category=category, data=data)
    with service.workplace.open() as work:
        request_id = dsr.file_request(
            work, fulfilment=service.fulfilment, requester=SHOP,
            request_type=RequestType.ACCESS, subject_id=subject_id,
        ).id  # fmt: skip
    record_bytes = 0
    with service.workplace.open() as work:
        filed = work.session.get(DsrRequest, request_id)
        assert filed is not None
        tasks = work.session.scalars(
            select(DsrTask).where(DsrTask.request_id == request_id).order_by(DsrTask.system)
        ).all()
        for task in tasks:
            answer = {"orders": [order(rng, task.system, n) for n in range(records)]}
            record_bytes += sum(len(json.dumps(item, separators=(",", ":"))) for item in answer["orders"])
            complete_task(
                work, fulfilment=service.fulfilment, task=task, request=filed,
                answer=Completed(data=answer, retained=()),
            )  # fmt: skip
    return Subject(subject_id=subject_id, request_id=request_id), record_bytes


# --- What this replaced (git 2660d52^: dsr/bundle.py and dsr/exports.py), for the comparison --------------


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=bundles._instant).encode()


def whole_zip_bundle(*, request: DsrRequest, generated_at: datetime, own: dict[str, Any],
                     systems: list[bundles.SystemPart]) -> bytes:  # fmt: skip
    files: dict[str, bytes] = {f"data/{bundles.OWN_SYSTEM}.json": _json_bytes(own)}
    for part in systems:
        if part.data is not None:
            files[f"data/{part.system}.json"] = _json_bytes({"data": part.data, "retained": part.retained})
    files["summary.html"] = _summary(request=request, generated_at=generated_at, systems=systems).encode()
    manifest = {
        "request_id": request.id, "subject_id": request.subject_id, "jurisdiction": request.jurisdiction,
        "received_at": request.received_at, "generated_at": generated_at,
        "files": [
            {"path": path, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
            for path, content in sorted(files.items())
        ],
        "systems": [
            {"system": part.system, "status": part.status, "retained": part.retained, "error": part.error}
            for part in systems
        ],
    }  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in [("manifest.json", _json_bytes(manifest)), *sorted(files.items())]:
            archive.writestr(zipfile.ZipInfo(path, date_time=_ZIP_TIME), content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _summary(*, request: DsrRequest, generated_at: datetime, systems: list[bundles.SystemPart]) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(part.system)}</td><td>{html.escape(part.status)}</td>"
        f"<td>{html.escape(_retained_text(part.retained))}</td></tr>"
        for part in systems
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your personal data</title></head>
<body>
<h1>Your personal data</h1>
<p>This archive answers your request {html.escape(request.id)} of {bundles._instant(request.received_at)}
for a copy of your personal data (GDPR Art. 15 and 20).
It was prepared on {bundles._instant(generated_at)}.</p>
<p><code>data/{bundles.OWN_SYSTEM}.json</code> holds your account, profile and the records kept about you,
with your sign-in history; each other file in <code>data/</code> holds what one of the shop's systems
returned. <code>manifest.json</code> lists every file with its SHA-256 digest.</p>
<table><thead><tr><th>System</th><th>Answer</th><th>Kept under a legal obligation</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


def _retained_text(retained: list[dict[str, Any]]) -> str:
    if not retained:
        return "nothing"
    return "; ".join(
        f"{item.get('category')}: {item.get('reason')}"
        + (f" (until {item['until']})" if item.get("until") else "")
        for item in retained
    )


def whole_zip_store(work: Work, *, fulfilment: Fulfilment, request: DsrRequest) -> bytes:
    """The old ``store_export``: every answer loaded and opened, the ZIP whole, encrypted as one field."""
    fields = work.subject_fields(table=DsrTask.__tablename__, subject_id=request.subject_id)
    parts: list[bundles.SystemPart] = []
    for task in work.session.scalars(
        select(DsrTask).where(DsrTask.request_id == request.id).order_by(DsrTask.system)
    ):
        data = fields.open_json(RESULT_COLUMN, task.result) if task.result is not None else None
        if data is None and task.status == TaskStatus.COMPLETED.value:
            data = {}
        parts.append(bundles.SystemPart(system=task.system, status=task.status, data=data,
                                        retained=json.loads(task.retained) if task.retained else [],
                                        error=task.last_error))  # fmt: skip
    content = whole_zip_bundle(
        request=request, generated_at=work.clock.now(),
        own=bundles.own_data(work, subject_id=request.subject_id,
                           profile=vault.read_profile(work, subject_id=request.subject_id)),
        systems=parts,
    )  # fmt: skip
    sealed = work.subject_fields(table=DsrExport.__tablename__, subject_id=request.subject_id).encrypt_bytes(
        BUNDLE_COLUMN, content
    )
    now = work.clock.now()
    work.session.merge(
        DsrExport(
            request_id=request.id, subject_id=request.subject_id, bundle=sealed, size=len(content),
            sha256=hashlib.sha256(content).hexdigest(), segments=0, created_at=now,
            expires_at=now + fulfilment.export_lifetime,
        )
    )  # fmt: skip
    return sealed


# --- One contender in a process of its own, run round by round ------------------------------------------


@dataclass(frozen=True)
class Figures:
    name: str
    seconds: list[float]
    traced_peak: int  # bytes
    rss_growth: int  # bytes: the resident set's high-water mark over the rounds, less its size before them
    detail: dict[str, Any]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_high_water() -> None:
    """Linux (proc(5), clear_refs): "5" resets the resident set's high-water mark to its size now."""
    Path("/proc/self/clear_refs").write_text("5")


def the_subject(subject: Subject) -> Principal:
    """The subject downloads their own bundle (``exports.may_download``)."""
    return Principal(kind=PrincipalKind.USER, id=subject.subject_id, client_id=SHOP.client_id)


def _steps(service: Service, setup: Installation) -> dict[str, Callable[[], dict[str, Any]]]:
    fulfilment, workplace = service.fulfilment, service.workplace

    def request(work: Work, subject: Subject) -> DsrRequest:
        found = work.session.get(DsrRequest, subject.request_id)
        assert found is not None
        return found

    def store_streaming() -> dict[str, Any]:
        with workplace.open() as work:
            export = bundles.store_export(work, fulfilment=fulfilment, request=request(work, setup.streaming))
            return {"size": export.size, "segments": export.segments}

    def download_streaming() -> dict[str, Any]:
        with workplace.open() as work:
            download = download_export(
                work, fulfilment=fulfilment, principal=the_subject(setup.streaming),
                request_id=setup.streaming.request_id,
            )  # fmt: skip
        digest, size = hashlib.sha256(), 0
        for piece in bundle_content(workplace, download):
            digest.update(piece)
            size += len(piece)
        assert digest.hexdigest() == download.sha256
        return {"size": size}

    def store_whole() -> dict[str, Any]:
        with workplace.open() as work:
            sealed = whole_zip_store(work, fulfilment=fulfilment, request=request(work, setup.before))
            return {"sealed": len(sealed)}

    def download_whole() -> dict[str, Any]:
        with workplace.open() as work:
            sealed = work.session.scalar(
                select(DsrExport.bundle).where(DsrExport.request_id == setup.before.request_id)
            )
            assert sealed is not None
            fields = work.subject_fields(table=DsrExport.__tablename__, subject_id=setup.before.subject_id)
            content = fields.open_bytes(BUNDLE_COLUMN, sealed)
        return {"size": len(content)}

    return {
        "store, streaming": store_streaming,
        "store, whole ZIP (before)": store_whole,
        "download, streaming": download_streaming,
        "download, whole ZIP (before)": download_whole,
    }


def _contender(kind: str, setup: Installation, orders: Connection) -> None:
    """Serve the parent: ``start`` (a warm-up), ``round`` (one timed run), ``finish`` (the figures)."""
    service = Service(Path(setup.data_dir), setup.database_url)
    step = _steps(service, setup)[kind]
    seconds: list[float] = []
    detail: dict[str, Any] = {}
    baseline = 0
    while (order_ := orders.recv()) != "finish":
        if order_ == "start":
            step()  # the first connection, caches, imports done late
            baseline = _status("VmRSS")
            _reset_high_water()
            orders.send(None)
            continue
        started = time.perf_counter()
        detail = step()
        seconds.append(time.perf_counter() - started)
        orders.send(None)
    # The high-water mark as VmHWM: getrusage's ru_maxrss cannot be reset in a spawned process, whose kernel
    # record keeps its address space from before exec (a fork of the parent, with the parent's resident set):
    # it said 14-17 MiB for every contender, tiny bundles included.
    growth = _status("VmHWM") - baseline
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    orders.send(Figures(name=kind, seconds=seconds, traced_peak=peak, rss_growth=growth, detail=detail))
    service.close()


def run_contenders(kinds: Sequence[str], setup: Installation, rounds: int) -> list[Figures]:
    """Each contender in a process of its own, their rounds alternating: the machine's load hits all alike."""
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    for kind in kinds:
        parent, child = context.Pipe()
        process = context.Process(target=_contender, args=(kind, setup, child), name=kind, daemon=True)
        process.start()
        child.close()  # the child's end lives in the child: a child that dies is then an EOFError here
        pipes.append(parent)
        processes.append(process)
    for order_ in ["start", *["round"] * rounds]:
        for pipe in pipes:
            pipe.send(order_)
            pipe.recv()
    figures = []
    for pipe in pipes:
        pipe.send("finish")
        figures.append(pipe.recv())
    for process in processes:
        process.join(60)
    return figures


# --- The floor ------------------------------------------------------------------------------------------


def floors(files: dict[str, bytes], bundle_size: int, rounds: int) -> tuple[float, float]:
    """(zip of ``files`` in memory + one AES-256-GCM encryption of ``bundle_size`` bytes, one decryption)."""
    cipher, nonce = AESGCM(AESGCM.generate_key(bit_length=256)), os.urandom(12)
    payload = os.urandom(bundle_size)
    sealed = cipher.encrypt(nonce, payload, b"")
    stores, opens = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path, content in files.items():
                archive.writestr(zipfile.ZipInfo(path, date_time=_ZIP_TIME), content, zipfile.ZIP_DEFLATED)
        cipher.encrypt(nonce, payload, b"")
        stores.append(time.perf_counter() - started)
        started = time.perf_counter()
        cipher.decrypt(nonce, sealed, b"")
        opens.append(time.perf_counter() - started)
    return statistics.median(stores), statistics.median(opens)


def encoding_time(files: dict[str, bytes], rounds: int) -> float:
    """How long the bundle's JSON files take to encode as it encodes them (indented, keys sorted)."""
    values = [json.loads(content) for path, content in files.items() if path.endswith(".json")]
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for value in values:
            for _piece in bundles._json_pieces(value):
                pass
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bundle_files(setup: Installation) -> dict[str, bytes]:
    """The files of the bundle as stored now, read back through the streaming download."""
    service = Service(Path(setup.data_dir), setup.database_url)
    try:
        with service.workplace.open() as work:
            download = download_export(
                work, fulfilment=service.fulfilment, principal=the_subject(setup.streaming),
                request_id=setup.streaming.request_id,
            )  # fmt: skip
        content = b"".join(bundle_content(service.workplace, download))
    finally:
        service.close()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --- The run ------------------------------------------------------------------------------------------


@contextmanager
def database(kind: str, admin_url: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    with scratch_database(admin_url, prefix="privacy_bench_bundle_") as url:
        yield url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres",
                        help="a scratch PostgreSQL database (default) or an SQLite file")  # fmt: skip
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL,
                        help=f"PostgreSQL admin URL (default {DEFAULT_ADMIN_URL})")  # fmt: skip
    parser.add_argument("--systems", type=int, default=20, help="systems that answered (default 20)")
    parser.add_argument("--records", type=int, default=500, help="records each system holds (default 500)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per contender (default 5)")
    arguments = parser.parse_args(argv)
    if min(arguments.systems, arguments.records, arguments.rounds) < 1:
        parser.error("--systems, --records and --rounds must be at least 1")
    if arguments.database == "postgres" and not arguments.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server")

    backend = (
        "PostgreSQL (scratch database)" if arguments.database == "postgres" else "SQLite (temporary file)"
    )
    print(f"Export bundle: {arguments.systems} systems x {arguments.records} records, {backend}, "
          f"median of {arguments.rounds} alternating rounds, each contender in its own process")  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="privacy-bench-bundle-") as directory,
        database(arguments.database, arguments.database_url) as url,
    ):
        data_dir = Path(directory) / "data"
        data_dir.mkdir(mode=0o700)
        setup = install(data_dir, url, systems=arguments.systems, records=arguments.records)
        print(f"  records: {setup.records:,}, {setup.record_bytes / setup.records:.0f} bytes of JSON each on "
              f"average ({setup.record_bytes / MIB:.1f} MiB)")  # fmt: skip

        kinds = [
            "store, streaming",
            "store, whole ZIP (before)",
            "download, streaming",
            "download, whole ZIP (before)",
        ]
        results = run_contenders(kinds, setup, arguments.rounds)
        stored = results[0].detail
        files = bundle_files(setup)
        content = sum(len(data) for data in files.values())
        store_floor, open_floor = floors(files, stored["size"], arguments.rounds)
        encoding = encoding_time(files, arguments.rounds)

    size = stored["size"]
    print(f"  bundle: {size / MIB:.2f} MiB ZIP in {stored['segments']} segments of 256 KiB, "
          f"{content / MIB:.2f} MiB of files in it ({len(files)} files)")  # fmt: skip
    print(f"  floor: zipfile of the same files in memory + raw AES-256-GCM of the bundle "
          f"{store_floor * 1000:.0f} ms; raw AES-256-GCM decryption {open_floor * 1000:.1f} ms")  # fmt: skip
    print()
    print(f"  encoding the JSON files alone, indented with sorted keys as the bundle has them: "
          f"{encoding * 1000:.0f} ms")  # fmt: skip
    print()
    print(f"  {'contender':<30} {'median':>9} {'x floor':>8} {'traced peak':>12} {'x bundle':>9} "
          f"{'x files':>8} {'RSS growth':>11} {'x bundle':>9}")  # fmt: skip
    for figures in results:
        floor = store_floor if figures.name.startswith("store") else open_floor
        print(f"  {figures.name:<30} {figures.median * 1000:>7.0f} ms {figures.median / floor:>7.1f}x "
              f"{figures.traced_peak / MIB:>8.1f} MiB {figures.traced_peak / size:>8.2f}x "
              f"{figures.traced_peak / content:>7.2f}x "
              f"{figures.rss_growth / MIB:>7.1f} MiB {figures.rss_growth / size:>8.2f}x")  # fmt: skip
    new_store, old_store, new_download, old_download = results
    print()
    print(f"  streaming against the whole ZIP: store {new_store.median / old_store.median:.2f}x the time, "
          f"{new_store.traced_peak / old_store.traced_peak:.2f}x the traced peak; download "
          f"{new_download.median / old_download.median:.2f}x the time, "
          f"{new_download.traced_peak / old_download.traced_peak:.2f}x the traced peak")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
