"""The staff console's pages against the same listings through the JSON API: p95 per page, on PostgreSQL.

One command, against the real server: ``privacy-service serve --no-worker`` on a
free loopback port (``login.running_server``), serving a scratch database
``privacy_bench_<random>`` created through the admin URL ``--database-url``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), migrated
with ``privacy-service migrate`` and dropped afterwards, whatever happens.

**Data.** Before the server starts, the database receives, bulk-loaded with ``COPY``:

- ``--requests`` data subject requests (default 10,000) of a few hundred
  subjects, received over the past year, of mixed types, jurisdictions (with
  their deadlines, a few extended) and statuses (old ones mostly answered, some
  overdue, recent ones open), each with 1 to 3 tasks in states that fit its
  own, a few erasure tasks with what a system kept under a legal hold. Nothing
  on these pages reads a subject's profile; a rejection's free-text detail
  would be opened with the subject's key, so rejections carry none here;
- ``--events`` sealed audit events (default 1,000,000) with a signed
  checkpoint every 1,000, by ``audit_append.generate_chain`` (events without
  details: opening details is not measured).

**Who looks.** A compliance officer (``privacy-service admin create --role
compliance_officer --json``) signs in twice: through the API with a shop client
(``clients create --scopes auth:login``): ``POST /v1/auth/login`` then
``POST /v1/auth/mfa`` with a TOTP code, for a bearer token that lasts the run
(``PRIVACY_ACCESS_TOKEN_SECONDS=3600``); and through the console's forms with a
cookie jar of its own, as a browser does (``/console/sign-in``, then
``/console/sign-in/code`` with one of the recovery codes, since a TOTP code is
accepted once).

**Pages.** Four listings of 50, each fetched as the console's HTML page and as
the API's JSON:

- the officer's queue, first page: ``/console/requests`` and ``/v1/dsr?limit=50``;
- the queue deep in the cursor: both with the cursor of the request at position
  ``requests / 2`` by ``(due_at, id)``;
- the audit trail, first page: ``/console/audit`` and ``/v1/audit/events?limit=50``;
- the trail deep in the cursor: both with the cursor of ``seq = events / 2``.

After a warm-up (in which each console page must list the same items as its
API twin), ``--samples`` timed requests per page and side (default 200), one at
a time on a keep-alive connection each, interleaved (console, API, console,
API...) so the machine's other load hits both alike; each is timed at the
client, from sending the request to the last byte of the answer, and must be a
200 listing 50 items. Printed per page: p50 and p95 of each side, the console's
p95 against the API's (goal: at most 1.5x) and the console's p95 itself (goal:
under 100 ms), and the hypervisor's steal over the measurement.

    .venv/bin/python benchmarks/console.py [--database-url postgresql+psycopg://...]
        [--requests 10000] [--events 1000000] [--samples 200]

Every audit page read is itself recorded (``audit_read``, on both sides); with
no worker those events stay unsealed, after every listed one. The load
generator shares the machine's cores with the server and PostgreSQL: compare
runs, not single figures. Exits 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
from sqlalchemy import Engine, and_, create_engine, select

from privacy_service.audit.models import AuditEvent
from privacy_service.audit.queries import SealedPosition, event_cursor
from privacy_service.core.cursors import Position, encode_cursor
from privacy_service.core.ids import new_id
from privacy_service.dsr.models import DsrRequest
from privacy_service.dsr.states import RejectionReason, RequestStatus, TaskStatus
from privacy_service.policy import RequestType

import steal
from audit_append import RARE_ACTION, RARE_ACTOR, RARE_EVERY, RARE_TARGET, generate_chain
from login import Server, ShopClient, run_cli, running_server, service_environment
from scratch import scratch_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PAGE_SIZE = 50
GOAL_VERSUS_API = 1.5
GOAL_P95_MS = 100
WARMUP_ROUNDS = 5
OFFICER_EMAIL = "officer@shop.example"
OFFICER_PASSWORD = "tandem lighthouse marble quarry 2026"  # noqa: S105 -- a scratch account
SUBJECTS = 300
SEED = 20261207  # the same requests at every run of a size
HISTORY_DAYS = 365
SYSTEMS = ("orders", "support", "newsletter", "billing", "analytics")
#: Systems that may keep something back from an erasure under a legal hold.
HOLDING_SYSTEMS = frozenset({"orders", "billing"})
LEGAL_HOLD = [{"category": "invoices", "reason": "AO §147", "until": "2034-12-31"}]


@dataclass(frozen=True)
class Jurisdiction:
    code: str  # as policies/jurisdictions.yaml names it
    deadline: timedelta
    extension: timedelta
    share: float


JURISDICTIONS = (
    Jurisdiction("eu_gdpr", timedelta(days=30), timedelta(days=60), 0.55),
    Jurisdiction("uk_gdpr", timedelta(days=30), timedelta(days=60), 0.15),
    Jurisdiction("us_ca_ccpa", timedelta(days=45), timedelta(days=45), 0.15),
    Jurisdiction("br_lgpd", timedelta(days=15), timedelta(0), 0.05),
    Jurisdiction("default", timedelta(days=30), timedelta(0), 0.10),
)

#: How requests stand, by whether their due date has passed: mostly answered once it has.
PAST_DUE_STATUSES = {
    RequestStatus.COMPLETED: 0.78,
    RequestStatus.PARTIALLY_COMPLETED: 0.06,
    RequestStatus.FAILED: 0.03,
    RequestStatus.REJECTED: 0.07,
    RequestStatus.IN_PROGRESS: 0.05,  # overdue
    RequestStatus.AWAITING_APPROVAL: 0.01,  # overdue
}
NOT_YET_DUE_STATUSES = {
    RequestStatus.RECEIVED: 0.10,
    RequestStatus.AWAITING_APPROVAL: 0.10,
    RequestStatus.IN_PROGRESS: 0.40,
    RequestStatus.COMPLETED: 0.30,
    RequestStatus.PARTIALLY_COMPLETED: 0.03,
    RequestStatus.REJECTED: 0.07,
}

Row = dict[str, object]


# --- Seeding --------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """One request's row (``dsr_requests``) and its tasks' rows (``dsr_tasks``), by column."""

    request: Row
    tasks: list[Row] = field(default_factory=list)


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


def weighted(rng: random.Random, weights: dict[RequestStatus, float]) -> RequestStatus:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def seeded_request(
    rng: random.Random, *, now: datetime, subject_id: str, shop_id: str, officer_id: str
) -> Seeded:
    """One request received in the past year, standing as its due date suggests, and its tasks."""
    jurisdiction = rng.choices(JURISDICTIONS, weights=[each.share for each in JURISDICTIONS])[0]
    received_at = now - timedelta(days=HISTORY_DAYS) * rng.random()
    extended = jurisdiction.extension > timedelta(0) and rng.random() < 0.05
    due_at = received_at + jurisdiction.deadline + (jurisdiction.extension if extended else timedelta(0))
    status = weighted(rng, PAST_DUE_STATUSES if due_at < now else NOT_YET_DUE_STATUSES)
    request_type = RequestType.ACCESS if rng.random() < 0.6 else RequestType.ERASURE
    answered_by = min(due_at, now)
    decided_at = rejection_reason = completed_at = None
    if status in {RequestStatus.COMPLETED, RequestStatus.PARTIALLY_COMPLETED, RequestStatus.FAILED}:
        completed_at = between(rng, received_at, answered_by)
    if status is RequestStatus.REJECTED:
        decided_at = completed_at = between(rng, received_at, answered_by)
        rejection_reason = rng.choice(list(RejectionReason)).value
    by_subject = rng.random() < 0.3
    seeded = Seeded(
        request={
            "id": new_id(),
            "type": request_type.value,
            "status": status.value,
            "subject_id": subject_id,
            "jurisdiction": jurisdiction.code,
            "received_at": received_at,
            "due_at": due_at,
            "extended": extended,
            "filed_by_type": "user" if by_subject else "client",
            "filed_by_id": subject_id if by_subject else shop_id,
            "client_id": shop_id,
            "decided_by": officer_id if decided_at else None,
            "decided_at": decided_at,
            "rejection_reason": rejection_reason,
            "rejection_detail": None,  # its text would be opened with the subject's key
            "completed_at": completed_at,
        }
    )
    for number, system in enumerate(rng.sample(SYSTEMS, rng.randint(1, 3))):
        seeded.tasks.append(
            seeded_task(
                rng,
                request=seeded.request,
                system=system,
                status=task_status_of(rng, status, number),
                ended_at=completed_at or between(rng, received_at, now),
                holds=request_type is RequestType.ERASURE and system in HOLDING_SYSTEMS,
            )
        )
    return seeded


def task_status_of(rng: random.Random, request: RequestStatus, number: int) -> TaskStatus:
    """A task's state that fits its request's: the first task of a partial answer succeeded, say."""
    if request in {RequestStatus.RECEIVED, RequestStatus.AWAITING_APPROVAL}:
        return TaskStatus.PENDING
    if request is RequestStatus.IN_PROGRESS:
        return rng.choice([TaskStatus.PENDING, TaskStatus.WAITING, TaskStatus.COMPLETED])
    if request is RequestStatus.PARTIALLY_COMPLETED:
        return TaskStatus.COMPLETED if number == 0 else TaskStatus.FAILED
    if request is RequestStatus.FAILED:
        return TaskStatus.FAILED
    if request is RequestStatus.REJECTED:
        return TaskStatus.CANCELLED
    return TaskStatus.COMPLETED


def seeded_task(
    rng: random.Random, *, request: Row, system: str, status: TaskStatus, ended_at: datetime, holds: bool
) -> Row:
    delivered = status not in {TaskStatus.PENDING, TaskStatus.CANCELLED}
    failed = status is TaskStatus.FAILED
    completed = status is TaskStatus.COMPLETED
    return {
        "id": new_id(),
        "request_id": request["id"],
        "system": system,
        "status": status.value,
        "webhook_id": f"msg_{secrets.token_hex(12)}",
        "attempts": 8 if failed else rng.randint(1, 2) if delivered else 0,
        "next_attempt_at": request["received_at"],
        "lease_until": None,
        "last_error": "HTTP 503 from the system, 8 attempts" if failed else None,
        "accepted_at": ended_at if delivered and not failed else None,
        "completed_at": ended_at if completed else None,
        "result": None,  # what the system returned: no list shows it
        "retained": json.dumps(LEGAL_HOLD) if completed and holds and rng.random() < 0.5 else None,
    }


def copy_rows(cursor: Any, table: str, rows: Sequence[Row]) -> None:
    """``rows`` (each with the same columns) into ``table``, as one COPY stream."""
    columns = list(rows[0])
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def seed_requests(engine: Engine, *, count: int, rng: random.Random) -> None:
    """``count`` requests of ``SUBJECTS`` subjects (plain ids: no page here reads a profile), by COPY."""
    now = datetime.now(UTC)
    subjects = [new_id() for _ in range(SUBJECTS)]
    shop_id, officer_id = new_id(), new_id()
    seeded = [
        seeded_request(rng, now=now, subject_id=rng.choice(subjects), shop_id=shop_id, officer_id=officer_id)
        for _ in range(count)
    ]
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection  # psycopg's own, for COPY
        assert driver is not None
        cursor = driver.cursor()
        copy_rows(cursor, "dsr_requests", [each.request for each in seeded])
        copy_rows(cursor, "dsr_tasks", [task for each in seeded for task in each.tasks])
        driver.commit()
        cursor.execute("ANALYZE dsr_requests")
        cursor.execute("ANALYZE dsr_tasks")
        driver.commit()
    finally:
        raw.close()


def load_events(engine: Engine, *, count: int) -> None:
    started = time.perf_counter()
    shown = [started]

    def progress(done: int) -> None:
        if time.perf_counter() - shown[0] > 10 and done < count:
            shown[0] = time.perf_counter()
            print(f"    {done:,} events ({time.perf_counter() - started:.0f} s)", flush=True)

    generate_chain(engine, events=count, progress=progress)


def seed(url: str, *, requests: int, events: int) -> tuple[str, str]:
    """Load the data; return the cursors of the deep pages: the queue's and the trail's."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        started = time.perf_counter()
        seed_requests(engine, count=requests, rng=random.Random(SEED))
        print(f"  seeded {requests:,} requests in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        load_events(engine, count=events)
        print(f"  loaded {events:,} sealed events in {time.perf_counter() - started:.1f} s", flush=True)
        return queue_cursor_at(engine, requests // 2), event_cursor(SealedPosition(seq=events // 2))
    finally:
        engine.dispose()


def queue_cursor_at(engine: Engine, position: int) -> str:
    """The cursor after the request at ``position`` (1-based) in the queue's order, ``(due_at, id)``."""
    with engine.connect() as connection:
        due_at, request_id = connection.execute(
            select(DsrRequest.due_at, DsrRequest.id)
            .order_by(DsrRequest.due_at, DsrRequest.id)
            .offset(position - 1)
            .limit(1)
        ).one()
    return encode_cursor(Position(at=due_at, id=request_id))


# --- Signing in -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Officer:
    email: str
    password: str
    totp: pyotp.TOTP
    recovery_codes: list[str]


def cli_json(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(run_cli(*args, "--json", env=env, stdin=stdin))
    return value


def create_officer(env: dict[str, str]) -> Officer:
    created = cli_json(
        env, "admin", "create", "--email", OFFICER_EMAIL, "--role", "compliance_officer",
        "--password-stdin", stdin=OFFICER_PASSWORD + "\n",
    )  # fmt: skip
    secret = parse_qs(urlparse(created["otpauth_uri"]).query)["secret"][0]
    return Officer(OFFICER_EMAIL, OFFICER_PASSWORD, pyotp.TOTP(secret), list(created["recovery_codes"]))


def create_shop(env: dict[str, str]) -> ShopClient:
    created = cli_json(env, "clients", "create", "--name", "bench", "--scopes", "auth:login")
    return ShopClient(client_id=created["client_id"], client_secret=created["client_secret"])


def expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise SystemExit(f"{what} answered {response.status_code}, not {status}: {response.text[:500]}")
    return response


def api_session(server: Server, shop: ShopClient, officer: Officer) -> httpx.Client:
    """A client holding the officer's API access token: password, then a TOTP code."""
    headers = {"Authorization": f"Bearer {shop.access_token(server)}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        login = http.post("/v1/auth/login", json={"email": officer.email, "password": officer.password})
        mfa_token = expect(login, 200, "POST /v1/auth/login").json()["mfa_token"]
        mfa = http.post("/v1/auth/mfa", json={"mfa_token": mfa_token, "code": officer.totp.now()})
        access_token = expect(mfa, 200, "POST /v1/auth/mfa").json()["access_token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {access_token}"}, timeout=60)


def hidden_field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    if found is None:
        raise SystemExit(f"no hidden field {name} on the page:\n{page[:2000]}")
    return found.group(1)


def console_session(server: Server, officer: Officer) -> httpx.Client:
    """A client with a cookie jar, signed in through the console's two forms (with a recovery code)."""
    browser = httpx.Client(base_url=server.url, timeout=60)
    form = expect(browser.get("/console/sign-in"), 200, "GET /console/sign-in").text
    password = {
        "email": officer.email,
        "password": officer.password,
        "csrf_token": hidden_field(form, "csrf_token"),
    }
    code_form = expect(browser.post("/console/sign-in", data=password), 200, "POST /console/sign-in").text
    code = {
        "mfa_token": hidden_field(code_form, "mfa_token"),
        "csrf_token": hidden_field(code_form, "csrf_token"),
        "code": officer.recovery_codes[0],
    }
    signed_in = browser.post("/console/sign-in/code", data=code)
    expect(signed_in, 303, "POST /console/sign-in/code")
    return browser


# --- Measuring ------------------------------------------------------------------------------------

_QUEUE_ROW = re.compile(r'<td><a href="/console/requests/([^"]+)">')
_EVENT_ROW = re.compile(r"<tr>\s*<td>(\d+)</td>")


def queue_ids(page: str) -> list[str]:
    return _QUEUE_ROW.findall(page)


def event_seqs(page: str) -> list[str]:
    return _EVENT_ROW.findall(page)


def request_ids(payload: dict[str, Any]) -> list[str]:
    return [item["id"] for item in payload["items"]]


def api_event_seqs(payload: dict[str, Any]) -> list[str]:
    return [str(item["seq"]) for item in payload["items"]]


@dataclass(frozen=True)
class Page:
    """One listing, fetched as the console's page and as the API's answer, and how to read each's items."""

    name: str
    console_path: str
    api_path: str
    cursor: str | None
    console_items: Callable[[str], list[str]]
    api_items: Callable[[dict[str, Any]], list[str]]
    filters: dict[str, str] = field(default_factory=dict)

    def console_params(self) -> dict[str, str]:
        return {**self.filters, **({} if self.cursor is None else {"cursor": self.cursor})}

    def api_params(self) -> dict[str, str | int]:
        return {"limit": PAGE_SIZE, **self.console_params()}


#: The trail's filtered pages: each filter matches only the chain's rare events (one in RARE_EVERY).
AUDIT_FILTERS = {
    "audit, by action": {"action": RARE_ACTION.value},
    "audit, by actor": {"actor": f"{RARE_ACTOR.type.value}:{RARE_ACTOR.id}"},
    "audit, by target": {"target": f"{RARE_TARGET.type.value}:{RARE_TARGET.id}"},
}


def filtered_pages_fit(events: int) -> bool:
    """Whether the chain holds a full filtered page of rare events."""
    return events // RARE_EVERY >= PAGE_SIZE


def pages(queue_cursor: str, audit_cursor: str, *, filtered: bool) -> list[Page]:
    listed = [
        Page("queue, first page", "/console/requests", "/v1/dsr", None, queue_ids, request_ids),
        Page("queue, deep page", "/console/requests", "/v1/dsr", queue_cursor, queue_ids, request_ids),
        Page("audit, first page", "/console/audit", "/v1/audit/events", None, event_seqs, api_event_seqs),
        Page("audit, deep page", "/console/audit", "/v1/audit/events", audit_cursor, event_seqs,
             api_event_seqs),
    ]  # fmt: skip
    if filtered:
        listed += [
            Page(name, "/console/audit", "/v1/audit/events", None, event_seqs, api_event_seqs, filters)
            for name, filters in AUDIT_FILTERS.items()
        ]
    return listed


def explain_filtered_pages(url: str) -> None:
    """PostgreSQL's plan and time for the first query of each filtered page (its sealed part, as
    ``audit.queries.list_events`` sends it), run once before the server starts."""
    conditions = {
        "audit, by action": AuditEvent.action == RARE_ACTION.value,
        "audit, by actor": and_(
            AuditEvent.actor_id == RARE_ACTOR.id, AuditEvent.actor_type == RARE_ACTOR.type.value
        ),
        "audit, by target": and_(
            AuditEvent.target_id == RARE_TARGET.id, AuditEvent.target_type == RARE_TARGET.type.value
        ),
    }
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            for name, condition in conditions.items():
                query = (
                    select(AuditEvent)
                    .where(condition, AuditEvent.seq.is_not(None))
                    .order_by(AuditEvent.seq)
                    .limit(PAGE_SIZE + 1)
                )
                sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
                plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").scalars().all()
                print(f"  {name}: the page's sealed query")
                for line in plan:
                    print(f"    {line}")
    finally:
        engine.dispose()


def timed_get(http: httpx.Client, path: str, params: dict[str, Any]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = http.get(path, params=params)  # the body is read before it returns
    return time.perf_counter() - started, response


def fetch_console(console: httpx.Client, page: Page) -> tuple[float, list[str]]:
    seconds, response = timed_get(console, page.console_path, page.console_params())
    items = page.console_items(expect(response, 200, f"{page.console_path} ({page.name})").text)
    if len(items) != PAGE_SIZE:
        raise SystemExit(f"{page.console_path} ({page.name}) listed {len(items)} items, not {PAGE_SIZE}")
    return seconds, items


def fetch_api(api: httpx.Client, page: Page) -> tuple[float, list[str]]:
    seconds, response = timed_get(api, page.api_path, page.api_params())
    items = page.api_items(expect(response, 200, f"{page.api_path} ({page.name})").json())
    if len(items) != PAGE_SIZE:
        raise SystemExit(f"{page.api_path} ({page.name}) listed {len(items)} items, not {PAGE_SIZE}")
    return seconds, items


def warm_up(console: httpx.Client, api: httpx.Client, listed: Sequence[Page]) -> None:
    """A few untimed rounds; each console page must list what its API twin lists, in the same order."""
    for _ in range(WARMUP_ROUNDS):
        for page in listed:
            _, on_console = fetch_console(console, page)
            _, through_api = fetch_api(api, page)
            if on_console != through_api:
                raise SystemExit(
                    f"{page.name}: the console lists {on_console[:3]}..., the API {through_api[:3]}..."
                )


@dataclass
class Timings:
    console: list[float] = field(default_factory=list)
    api: list[float] = field(default_factory=list)


def measure(
    console: httpx.Client, api: httpx.Client, listed: Sequence[Page], samples: int
) -> dict[str, Timings]:
    """``samples`` rounds; in each, every page once on the console, then once through the API."""
    timings = {page.name: Timings() for page in listed}
    for _ in range(samples):
        for page in listed:
            timings[page.name].console.append(fetch_console(console, page)[0])
            timings[page.name].api.append(fetch_api(api, page)[0])
    return timings


# --- Reporting ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``share`` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(timings: dict[str, Timings]) -> bool:
    """Print each page's figures and verdicts; whether every goal was met."""
    print(
        f"\n  {'page':<19}{'console p50':>13}{'p95':>10}{'API p50':>11}{'p95':>10}"
        f"   console/API p95 (goal <= {GOAL_VERSUS_API}x)   console p95 (goal < {GOAL_P95_MS} ms)"
    )
    met = True
    for name, each in timings.items():
        console_p95, api_p95 = percentile(each.console, 0.95), percentile(each.api, 0.95)
        ratio = console_p95 / api_p95
        ratio_met, absolute_met = ratio <= GOAL_VERSUS_API, console_p95 * 1000 < GOAL_P95_MS
        met = met and ratio_met and absolute_met
        print(
            f"  {name:<19}{ms(percentile(each.console, 0.5)):>13}{ms(console_p95):>10}"
            f"{ms(percentile(each.api, 0.5)):>11}{ms(api_p95):>10}"
            f"   {ratio:>5.2f}x {'met' if ratio_met else 'MISSED':<31}"
            f"{ms(console_p95):>9} {'met' if absolute_met else 'MISSED'}"
        )
    return met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help=f"PostgreSQL admin URL (default {DEFAULT_URL})"
    )
    parser.add_argument("--requests", type=int, default=10_000, help="requests in the queue (default 10,000)")
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="sealed audit events (default 1,000,000)"
    )
    parser.add_argument(
        "--samples", type=int, default=200, help="timed requests per page and side (default 200)"
    )
    arguments = parser.parse_args(argv)
    if arguments.requests < 2 * PAGE_SIZE + 2 or arguments.events < 2 * PAGE_SIZE + 2:
        parser.error(f"--requests and --events must be at least {2 * PAGE_SIZE + 2}: a deep page lists 50")
    if arguments.samples < 1:
        parser.error("--samples must be at least 1")
    if not arguments.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server")
    print(
        "privacy-service console benchmark on PostgreSQL (scratch database): "
        f"{arguments.requests:,} requests, {arguments.events:,} audit events, "
        f"{arguments.samples} samples per page and side",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="privacy-bench-") as directory,
        scratch_database(arguments.database_url) as url,
    ):
        env = service_environment(Path(directory) / "data", url, {"PRIVACY_ACCESS_TOKEN_SECONDS": "3600"})
        run_cli("migrate", env=env)
        queue_cursor, audit_cursor = seed(url, requests=arguments.requests, events=arguments.events)
        filtered = filtered_pages_fit(arguments.events)
        if filtered:
            explain_filtered_pages(url)
        else:
            print(f"  no filtered pages: fewer than {PAGE_SIZE * RARE_EVERY:,} events hold no full one")
        officer, shop = create_officer(env), create_shop(env)
        with (
            running_server(env, Path(directory) / "server.log") as server,
            # Both clients have sent requests already (signing in), so httpx refuses a with of their own.
            closing(api_session(server, shop, officer)) as api,
            closing(console_session(server, officer)) as console,
        ):
            listed = pages(queue_cursor, audit_cursor, filtered=filtered)
            warm_up(console, api, listed)
            jiffies_before = steal.cpu_jiffies()
            started = time.perf_counter()
            timings = measure(console, api, listed, arguments.samples)
            elapsed = time.perf_counter() - started
            stolen = steal.steal_share(jiffies_before, steal.cpu_jiffies())
    met = report(timings)
    print(f"  measured in {elapsed:.1f} s; steal {steal.percent(stolen)} of the machine's CPU time meanwhile")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
