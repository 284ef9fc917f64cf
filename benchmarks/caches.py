"""What each cache and speed trick earns: the operation it speeds up, timed with it and without it.

Issue 19: a cache or a speed trick keeps its place only with a figure from a
run on this code. For each one, this script runs the operation it exists for
(an authenticated call's principal check, reading a record, loading profiles,
a login's throttle check, sealing the audit trail, a refusal at the HTTP
edge...) as the code ships and with the mechanism taken away (a cache of size
or time zero, the textbook query, the per-field loop), in alternating rounds, and prints the median time per
operation of each, of the process's CPU and on the wall clock, with their
ratio (without / with: 1.25x means the path costs a quarter more without it).

The verdict reads the process's CPU (all its threads), which the machine's
other load moves much less than the wall clock: a mechanism that saves less
than 10 % of the path it speeds does not earn its lines
(``benchmarks/README.md``). On PostgreSQL the CPU undercounts what a saved
query or round trip is worth (the server's work and the wait are not in it),
so a mechanism kept on CPU is kept a fortiori; the two whose saving is the
server's work and the wait for it (the ping, the sealer's one UPDATE) are
judged on the wall clock, the median of alternating rounds.

Everything runs in this process: the database work on a temporary SQLite file
and, with ``--database-url`` (an admin URL), on a scratch PostgreSQL database
``privacy_bench_<random>`` created, migrated and dropped afterwards; the HTTP
edge's refusal through its ASGI layers, called directly.

What was removed for want of a figure, and the figure, is in
``benchmarks/README.md``; its measurements left this script with it.

    .venv/bin/python benchmarks/caches.py
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--rounds 7] [--round-seconds 0.15] [--profiles 300]

About 40 s on SQLite alone and 80 s with PostgreSQL, on two shared cores.
Ratios move with the machine's other load: compare runs, not single figures.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from privacy_service.vault.sealing import open_profile, profile_fields, seal_profile_values
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from privacy_service.api import deps, middleware
from privacy_service.audit import recorder as audit
from privacy_service.audit import sealer
from privacy_service.audit.actions import SYSTEM, Action, Outcome, client_party
from privacy_service.core import migrations
from privacy_service.core.clock import SystemClock
from privacy_service.core.config import Settings
from privacy_service.core.db import (
    PING_AFTER_IDLE_SECONDS,
    create_engine_for,
    create_session_factory,
    run_core,
)
from privacy_service.core.logging import configure_logging
from privacy_service.crypto import DataKey, FieldContext, LocalKeyFile, generate_data_key
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests
from privacy_service.identity import clients as clients_module
from privacy_service.identity import password_rules
from privacy_service.identity import throttle as throttle_module
from privacy_service.identity import tokens as tokens_module
from privacy_service.identity.clients import EnabledClients, register_client
from privacy_service.identity.models import Client
from privacy_service.identity.scopes import Scope
from privacy_service.identity.throttle import DatabaseFailureStore, ThrottleScope, Window
from privacy_service.identity.tokens import TokenIssuer
from privacy_service.keys import fields as fields_module
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.service import Keyring
from privacy_service.vault import service as vault
from privacy_service.vault.lookup import email_index
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work, Workplace

from scratch import scratch_database

#: A mechanism must save at least this share of the path it speeds up to keep its place.
EARNS = 0.10
ISSUER = "https://privacy.bench.example"
RECORD_CATEGORY = "addresses"
RECORD = {"street": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}


@dataclass(frozen=True)
class Timing:
    """Median microseconds per operation: of this process's CPU (all its threads), and on the wall clock."""

    cpu: float
    wall: float


@dataclass(frozen=True)
class Figure:
    mechanism: str
    path: str
    database: str
    with_it: Timing
    without_it: Timing
    note: str = ""
    #: "cpu", or "wall" for a mechanism whose saving is the database server's work and the wait for it.
    judged_by: str = "cpu"

    @property
    def path_time(self) -> tuple[float, float]:
        """The path's time (CPU, or wall where so judged) with the mechanism and without it."""
        return getattr(self.with_it, self.judged_by), getattr(self.without_it, self.judged_by)

    @property
    def ratio(self) -> float:
        """Without / with, of the path's time: what the verdict reads."""
        with_it, without_it = self.path_time
        return float(without_it / with_it)

    @property
    def saved(self) -> float:
        """The share of the path's time (without the mechanism) that the mechanism saves."""
        with_it, without_it = self.path_time
        return float(1 - with_it / without_it)

    def show(self) -> None:
        with_it, without_it = self.with_it, self.without_it
        print(
            f"  {self.mechanism:<38}{self.database:<11}"
            f"{with_it.cpu:>9.1f}{without_it.cpu:>10.1f}{_times(without_it.cpu / with_it.cpu)}"
            f"{with_it.wall:>10.1f}{without_it.wall:>10.1f}{_times(without_it.wall / with_it.wall)}"
            f"  {self.path}",
            flush=True,
        )


def _times(ratio: float) -> str:
    return f" {ratio:>6.2f}x" if ratio < 1000 else f" {ratio:>6.0f}x"


@dataclass(frozen=True)
class Contender:
    """An operation, and what must be set around a round of it (a patch, a variant's state)."""

    run: Callable[[], object]
    around: Callable[[], AbstractContextManager[object]] = nullcontext


class Bench:
    def __init__(self, *, rounds: int, round_seconds: float) -> None:
        self.rounds = rounds
        self.round_seconds = round_seconds
        self.figures: list[Figure] = []

    def compare(
        self,
        mechanism: str,
        path: str,
        database: str,
        with_it: Contender,
        without_it: Contender,
        *,
        note: str = "",
        judged_by: str = "cpu",
    ) -> Figure:
        """Median time per operation of each contender, in alternating rounds after one warm-up each."""
        rounds: dict[str, list[tuple[float, float]]] = {"with": [], "without": []}
        contenders = {"with": with_it, "without": without_it}
        for contender in contenders.values():
            with contender.around():
                contender.run()  # warm-up: imports, statement caches, first connections
        for round_number in range(self.rounds):
            for name in ("with", "without") if round_number % 2 == 0 else ("without", "with"):
                contender = contenders[name]
                with contender.around():
                    rounds[name].append(_per_run(contender.run, self.round_seconds))
        figure = Figure(
            mechanism=mechanism,
            path=path,
            database=database,
            with_it=_median(rounds["with"]),
            without_it=_median(rounds["without"]),
            note=note,
            judged_by=judged_by,
        )
        return self.add(figure)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        figure.show()
        return figure


def _per_run(run: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Seconds per call of ``run``, of the process's CPU and on the wall clock, over about ``seconds``."""
    count = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + seconds
    while True:
        run()
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return (time.process_time() - cpu_started) / count, (now - started) / count


def _median(rounds: list[tuple[float, float]]) -> Timing:
    return Timing(
        cpu=statistics.median(cpu for cpu, _ in rounds) * 1e6,
        wall=statistics.median(wall for _, wall in rounds) * 1e6,
    )


@contextmanager
def patched(owner: object, name: str, value: object) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


# -- the service's pieces on one database ------------------------------------------------------------


@dataclass
class Service:
    label: str
    engine: Engine
    url: str
    key_file_path: Path
    keyring: Keyring
    workplace: Workplace
    client_id: str
    token: str
    subject_ids: list[str]


def build_service(*, label: str, url: str, directory: Path, profiles: int) -> Service:
    settings = Settings(_env_file=None, data_dir=directory)
    engine = create_engine_for(settings, database_url=url)
    migrations.upgrade(engine)
    key_file_path = directory / f"keys-{label}.json"
    provider = LocalKeyFile.open_or_create(key_file_path)
    clock = SystemClock()
    keyring = Keyring(provider=provider, clock=clock, cache=DataKeyCache(max_entries=10_000, ttl_seconds=300))
    workplace = Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring)
    issuer = TokenIssuer(provider=provider, clock=clock, issuer=ISSUER)
    digests = OpaqueTokenDigests(pepper_key=provider.pepper_key())
    scopes = [Scope.VAULT_READ, Scope.VAULT_WRITE]
    with workplace.open() as work:
        issuer.ensure_active_key(session=work.session)
        client_id = register_client(work, digests=digests, name="bench shop", scopes=scopes).client_id
    with workplace.open() as work:
        token = issuer.issue_access_token(
            session=work.session, subject=client_id, audience=client_id, client_id=client_id, amr=[],
            scopes=scopes,
        )  # fmt: skip
    blind_index = email_index(provider)
    subject_ids: list[str] = []
    with workplace.open() as work:
        for number in range(profiles):
            subject = vault.create_subject(work, blind_index=blind_index, profile=_profile(number))
            subject_ids.append(subject.id)
        vault.put_record(work, subject_id=subject_ids[0], category=RECORD_CATEGORY, data=RECORD)
    return Service(
        label=label,
        engine=engine,
        url=url,
        key_file_path=key_file_path,
        keyring=keyring,
        workplace=workplace,
        client_id=client_id,
        token=token,
        subject_ids=subject_ids,
    )


def _profile(number: int) -> ProfileFields:
    return ProfileFields(
        email=f"customer.{number}@example.com",
        given_name="Dorothea",
        family_name=f"Müller-{number}",
        phone=f"+49 30 {1_000_000 + number}",
        country="DE",
        locale="de-DE",
    )


def _uncached_workplace(service: Service) -> Workplace:
    """The service's sessions with a keyring that caches no data key (and its own handle on the key file)."""
    provider = LocalKeyFile(path=service.key_file_path)
    keyring = Keyring(
        provider=provider, clock=SystemClock(), cache=DataKeyCache(max_entries=0, ttl_seconds=0)
    )
    return Workplace(sessions=service.workplace.sessions, clock=SystemClock(), keyring=keyring)


# -- the principal check: the loaded keys, the verified-token memory, the enabled-client cache ---------


def principal_figures(bench: Bench, service: Service) -> None:
    """``api.deps.get_principal`` as every authenticated call runs it, for a shop's client token."""
    request = SimpleNamespace(headers={"authorization": f"Bearer {service.token}"})
    provider = service.keyring.provider
    clock = SystemClock()

    def issuer(*, remembered: int = tokens_module.VERIFIED_TOKENS_REMEMBERED, key_seconds: float) -> Any:
        made = TokenIssuer(provider=provider, clock=clock, issuer=ISSUER, key_cache_seconds=key_seconds)
        with (
            patched(tokens_module, "VERIFIED_TOKENS_REMEMBERED", remembered),
            service.workplace.open() as work,
        ):
            made.jwks(session=work.session)  # the keys loaded now, with a memory of this size
        return made

    def check(identity: Any) -> Contender:
        return Contender(lambda: deps.get_principal(request, service.workplace, identity))  # type: ignore[arg-type]

    # A key cache longer than the run, so the keys are not reloaded (with a new, empty memory) mid-round.
    shipped = SimpleNamespace(tokens=issuer(key_seconds=3600), clients=EnabledClients())
    without_memory = SimpleNamespace(tokens=issuer(remembered=0, key_seconds=3600), clients=EnabledClients())
    without_clients = SimpleNamespace(tokens=shipped.tokens, clients=EnabledClients(seconds=0))
    without_keys = SimpleNamespace(tokens=issuer(key_seconds=0), clients=EnabledClients())
    db, path = service.label, "check a client token (get_principal)"
    bench.compare("verified-token memory", path, db, check(shipped), check(without_memory))
    bench.compare(
        "enabled-client cache (5 s)", path, db, check(shipped), check(without_clients),
    )  # fmt: skip
    bench.compare(
        "loaded signing keys (30 s)", path, db, check(shipped), check(without_keys),
        note="without: the keys read and unwrapped at each use (twice a check), so no token is remembered",
    )  # fmt: skip


# -- data keys and the key file ---------------------------------------------------------------------


def data_key_figures(bench: Bench, service: Service) -> None:
    subject_id = service.subject_ids[0]
    uncached = _uncached_workplace(service)

    def read_record(workplace: Workplace) -> Contender:
        def run() -> None:
            with workplace.open() as work:
                vault.get_record(work, subject_id=subject_id, category=RECORD_CATEGORY)

        return Contender(run)

    def load(workplace: Workplace) -> Contender:
        def run() -> None:
            with workplace.open() as work:
                vault.load_profiles(work, subject_ids=service.subject_ids)

        return Contender(run)

    db = service.label
    bench.compare(
        "data-key cache", "read one record (get_record)", db, read_record(service.workplace),
        read_record(uncached),
    )  # fmt: skip
    bench.compare(
        "data-key cache", f"load {len(service.subject_ids)} profiles (load_profiles)", db,
        load(service.workplace), load(uncached),
    )  # fmt: skip


# -- opening profiles: TextColumns, no second validation ---------------------------------------------


def _open_profile_field_by_field(*, key: DataKey, subject_id: str, row: Any) -> ProfileFields:
    """``open_profile`` as the plain per-field loop: one ``SubjectFields.open`` per column."""
    fields = profile_fields(key=key, subject_id=subject_id)
    extra = row.extra
    return ProfileFields.model_construct(
        email=fields.open("email", row.email),
        given_name=fields.open("given_name", row.given_name),
        family_name=fields.open("family_name", row.family_name),
        phone=fields.open("phone", row.phone),
        country=fields.open("country", row.country),
        locale=fields.open("locale", row.locale),
        extra=fields.open_json("extra", extra) if extra is not None else {},
    )


def _open_profile_validated(*, key: DataKey, subject_id: str, row: Any) -> ProfileFields:
    """``open_profile``, then validated as a new ``ProfileFields`` (what ``model_construct`` skips)."""
    return ProfileFields(**dict(open_profile(key=key, subject_id=subject_id, row=row)))


def profile_figures(bench: Bench, service: Service) -> None:
    def load() -> None:
        with service.workplace.open() as work:
            vault.load_profiles(work, subject_ids=service.subject_ids)

    db = service.label
    path = f"load {len(service.subject_ids)} profiles, keys cached (load_profiles)"
    bench.compare(
        "TextColumns (a row opened at once)", path, db, Contender(load),
        Contender(load, lambda: patched(vault, "open_profile", _open_profile_field_by_field)),
        note="without: one SubjectFields.open per column",
    )  # fmt: skip
    bench.compare(
        "profiles opened unvalidated", path, db, Contender(load),
        Contender(load, lambda: patched(vault, "open_profile", _open_profile_validated)),
        note="ProfileFields.model_construct: what AES-GCM just authenticated is not validated again",
    )  # fmt: skip


# -- field crypto: DataKey's prepared cipher and header ---------------------------------------------------


def field_figures(bench: Bench) -> None:
    key = DataKey(key_id="01jbenchkey00000000000001", version=1, material=generate_data_key())
    subject_id = "01jbenchsubject0000000001"
    values = dict(_profile(7))

    def seal_profile() -> None:
        seal_profile_values(fields=profile_fields(key=key, subject_id=subject_id), values=values)

    def encrypt_unprepared(*, key: DataKey, plaintext: bytes, context: FieldContext) -> bytes:
        encoded_id = key.key_id.encode()
        header = b"\x01" + bytes([len(encoded_id)]) + encoded_id + key.version.to_bytes(4, "big")
        nonce = os.urandom(12)
        return (
            header + nonce + AESGCM(key.material).encrypt(nonce, plaintext, header + context.associated_data)
        )

    bench.compare(
        "DataKey's prepared cipher and header", "seal a profile's 6 fields (create_subject's part)", "-",
        Contender(seal_profile),
        Contender(seal_profile, lambda: patched(fields_module, "encrypt_field", encrypt_unprepared)),
        note="without: AESGCM(key) and the header built per field",
    )  # fmt: skip


def blocklist_figure(bench: Bench) -> None:
    def check() -> None:
        password_rules.is_blocklisted("correct horse battery staple")

    uncached = password_rules._blocklist.__wrapped__
    bench.compare(
        "password blocklist loaded once", "check a login's correct password against the blocklist", "-",
        Contender(check), Contender(check, lambda: patched(password_rules, "_blocklist", uncached)),
        note="without: the 30,000 common passwords normalised at each check (a login also costs argon2)",
    )  # fmt: skip


# -- queries: run_core and statements built once ------------------------------------------------------


def query_figures(bench: Bench, service: Service) -> None:
    client_id = service.client_id
    parameters = {"client_id": client_id}
    query = clients_module._ENABLED_CLIENT

    def find(execute: Callable[[Session], object]) -> Contender:
        def run() -> None:
            with service.workplace.open() as work:
                execute(work.session)

        return Contender(run)

    def textbook(session: Session) -> object:
        return session.scalar(select(Client).where(Client.id == client_id, Client.disabled_at.is_(None)))

    shipped = find(lambda session: run_core(session, query, parameters).first())
    db, path = service.label, "find an enabled client in its own unit of work"
    bench.compare(
        "run_core: statements built once", path, db, shipped, find(textbook),
        note="without: session.scalar(select(Client)...) built per call, an entity",
    )  # fmt: skip
    bench.compare(
        "run_core: past the ORM's execution", path, db, shipped,
        find(lambda session: session.execute(query, parameters).first()),
        note="without: the same statement, built once, through Session.execute",
    )  # fmt: skip

    digest = secrets.token_bytes(32)
    windows = [
        (ThrottleScope.ACCOUNT, digest, Window(limit=10, seconds=900)),
        (ThrottleScope.IP, digest, Window(limit=100, seconds=3600)),
        (ThrottleScope.CLIENT, digest, Window(limit=1000, seconds=60)),
    ]

    def throttle_states() -> None:
        with service.workplace.open() as work:
            DatabaseFailureStore(session=work.session, clock=work.clock).states(windows)

    def built_each_time() -> AbstractContextManager[None]:
        return patched(throttle_module, "_states_query", throttle_module._states_query.__wrapped__)

    bench.compare(
        "throttle statements built once", "a login's throttle check (3 windows, one query)", db,
        Contender(throttle_states), Contender(throttle_states, built_each_time),
    )  # fmt: skip


# -- connections: pinging only idle PostgreSQL ones ---------------------------------------------------


def _find_client_in(service: Service, engine: Engine) -> Contender:
    workplace = Workplace(
        sessions=create_session_factory(engine), clock=SystemClock(), keyring=service.keyring
    )
    parameters = {"client_id": service.client_id}

    def run() -> None:
        with workplace.open() as work:
            run_core(work.session, clients_module._ENABLED_CLIENT, parameters).first()

    return Contender(run)


def postgres_ping_figure(bench: Bench, service: Service) -> None:
    """The shipped engine (a ping after half a second idle) against SQLAlchemy's ping at every checkout."""
    pinging = create_engine(
        service.url, pool_size=5, max_overflow=5, pool_pre_ping=True, connect_args={"connect_timeout": 5}
    )
    bench.compare(
        f"ping only after {PING_AFTER_IDLE_SECONDS} s idle", "find an enabled client in its own unit of work",
        service.label, _find_client_in(service, service.engine), _find_client_in(service, pinging),
        judged_by="wall", note="without: pool_pre_ping=True, a ping at every checkout",
    )  # fmt: skip
    pinging.dispose()


# -- the audit trail's sealer: one UPDATE over arrays on PostgreSQL ------------------------------------


def sealer_figure(bench: Bench, service: Service, events: int = 1000) -> None:
    target = client_party(service.client_id)
    with service.workplace.open() as work:
        for _ in range(events):
            audit.record(
                work, actor=SYSTEM, action=Action.CLIENT_SECRET_ROTATE, target=target, outcome=Outcome.SUCCESS
            )

    def seal_and_roll_back() -> None:
        with service.workplace.sessions() as session:
            work = Work(session=session, clock=SystemClock(), keyring=service.keyring)
            sealed = sealer.seal_pending_events(work, batch_size=events)
            session.rollback()
        if sealed != events:
            raise SystemExit(f"sealed {sealed} events of {events}")

    def executemany(connection: Any, seals: list[dict[str, object]], *, sealed_at: datetime) -> None:
        connection.execute(sealer._SEAL, seals)

    bench.compare(
        "sealer's UPDATE over arrays", f"seal a batch of {events} events", service.label,
        Contender(seal_and_roll_back),
        Contender(seal_and_roll_back, lambda: patched(sealer, "_write_seals", executemany)),
        judged_by="wall", note="without: an executemany, one UPDATE per event, as on SQLite",
    )  # fmt: skip


# -- the HTTP edge: refusal logs sampled under a flood ---------------------------------------------------


def refusal_sampling_figure(bench: Bench) -> None:
    """A refusal at the edge (a 503, as the login admission answers a flood) through the request-id layer."""

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        await middleware.send_problem(send, status=503, body=b"{}", headers=[(b"retry-after", b"1")])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    scope = {"type": "http", "method": "POST", "path": "/v1/auth/login", "headers": [], "state": {}}
    sampled = middleware.SecurityHeadersMiddleware(middleware.RequestIdMiddleware(refuse))
    every_one = middleware.SecurityHeadersMiddleware(
        middleware.RequestIdMiddleware(refuse, refusals=middleware.RefusalLogSampler(interval=0))
    )
    loop = asyncio.new_event_loop()
    handlers = logging.getLogger().handlers[:]
    devnull = open(os.devnull, "w")  # noqa: SIM115 -- closed below, after the handler that writes to it
    configure_logging("INFO", stream=devnull)  # every line written and formatted, as when serving
    try:
        bench.compare(
            "refusal logs sampled (one a second)", "a refusal at the edge, through the request-id layer", "-",
            Contender(lambda: loop.run_until_complete(sampled(dict(scope), receive, send))),
            Contender(lambda: loop.run_until_complete(every_one(dict(scope), receive, send))),
            note="without: an access-log line for every refusal (also what keeps a flood off the disk)",
        )  # fmt: skip
    finally:
        loop.close()
        logging.getLogger().handlers[:] = handlers
        logging.getLogger().setLevel(logging.WARNING)
        devnull.close()


# -- the run ---------------------------------------------------------------------------------------------


def run_database(bench: Bench, *, label: str, url: str, directory: Path, profiles: int) -> None:
    print(f"{label}: {profiles} subjects created", flush=True)
    service = build_service(label=label, url=url, directory=directory, profiles=profiles)
    try:
        principal_figures(bench, service)
        data_key_figures(bench, service)
        profile_figures(bench, service)
        query_figures(bench, service)
        if label == "PostgreSQL":
            postgres_ping_figure(bench, service)
            sealer_figure(bench, service)
    finally:
        service.engine.dispose()


def print_header() -> None:
    print(
        f"  {'':<38}{'':<11}{'CPU us per operation':^26}{'wall us per operation':^27}\n"
        f"  {'mechanism':<38}{'database':<11}{'with':>9}{'without':>10}{'ratio':>8}"
        f"{'with':>10}{'without':>10}{'ratio':>8}  path"
    )


def print_verdicts(bench: Bench) -> None:
    print(f"\nWhat each mechanism saves of the path it speeds up (keeps its place at {EARNS:.0%} or more):")
    for figure in bench.figures:
        verdict = "keep" if figure.saved >= EARNS else "REMOVE"
        print(
            f"  {verdict:<7}{figure.mechanism:<38}{figure.database:<11}{_times(figure.ratio)}"
            f" {figure.judged_by:<4} saves {figure.saved:>4.0%}  {figure.path}"
        )
        if figure.note:
            print(f"  {'':<7}{'':<38}{figure.note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="an admin URL: also measure on a scratch PostgreSQL database")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per contender (default 7)")
    parser.add_argument("--round-seconds", type=float, default=0.15, help="seconds per round (default 0.15)")
    parser.add_argument("--profiles", type=int, default=300, help="subjects created and loaded (default 300)")
    arguments = parser.parse_args(argv)
    bench = Bench(rounds=arguments.rounds, round_seconds=arguments.round_seconds)
    started = time.perf_counter()
    print(
        f"privacy-service: what each cache and speed trick earns, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, median of {arguments.rounds} rounds"
    )
    print_header()
    field_figures(bench)
    blocklist_figure(bench)
    refusal_sampling_figure(bench)
    with tempfile.TemporaryDirectory() as directory:
        run_database(
            bench, label="SQLite", url=f"sqlite:///{directory}/bench.db", directory=Path(directory),
            profiles=arguments.profiles,
        )  # fmt: skip
        if arguments.database_url:
            with scratch_database(arguments.database_url) as url:
                run_database(
                    bench, label="PostgreSQL", url=url, directory=Path(directory), profiles=arguments.profiles
                )
    print_verdicts(bench)
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
