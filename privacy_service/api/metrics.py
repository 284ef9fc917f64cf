"""``GET /metrics``: the service's figures in the Prometheus text format, for whoever holds the metrics token.

Two kinds of figures, which combine differently when several processes run:

- **Counted at the HTTP edge, per process** (``RequestMetricsMiddleware``, the
  outermost layer, so it also sees what the edge itself refuses: the login
  admission's 503s, 413s, the last-resort 500): requests by route template and
  status, their latency, logins by outcome, throttle and admission refusals.
  Each ``serve`` process counts what it answered since it started; scrape
  every process as a target of its own (Prometheus labels each with its
  ``instance``), directly rather than through the load balancer, and add
  them up with ``sum without (instance) (rate(...))``. A restart starts the
  counters again from zero, which ``rate`` and ``increase`` take in their
  stride. ``privacy-service worker`` processes answer no HTTP and need no
  scraping: everything they do lands in the database, which is read below.
  (prometheus_client's multiprocess mode, files shared through
  ``PROMETHEUS_MULTIPROC_DIR``, is for several processes answering on one
  port; ``serve`` is one process per port, so it is not used.)
- **Read when scraped** (``ServiceCollector``): from the database, DSR tasks
  by state, deliveries by system and outcome, the audit trail's unsealed
  backlog and the age of its last checkpoint. The database holds the truth,
  so these are right however many processes and hosts write it, and survive
  restarts; every instance reports the same values, so aggregate them with
  ``max without (instance)``, never ``sum``. From this process: its password
  pool (threads, checks in flight and waiting). The database part of a
  scrape is one grouped query over the tasks and two indexed lookups: with
  100,000 tasks, about 25-50 ms on PostgreSQL and 150-250 ms on SQLite, in a
  worker thread, never in the event loop.

Labels carry route templates (``/v1/dsr/{request_id}``, never the path as
sent, which would carry ids and let a caller mint series), status codes,
methods, downstream system names and fixed vocabularies: never personal data.
The endpoint is left out of the OpenAPI document: it is for monitoring, not
for shops, and is described in the README.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import State
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_service.audit.freshness import TrailFreshness, trail_freshness
from privacy_service.core.clock import Clock
from privacy_service.core.config import Settings
from privacy_service.core.db import SessionFactory
from privacy_service.crypto import equal_in_constant_time
from privacy_service.dsr.tallies import TaskTallies, task_tallies
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import InvalidToken, NotAuthenticated

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
#: The route label of a request no route matched (a 404 for an unknown path): one series for them all.
UNMATCHED_ROUTE = "unmatched"
#: Methods labelled as themselves; any other (a caller may send anything) is labelled ``other``.
_KNOWN_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
#: Seconds: from a refusal at the edge (well under a millisecond) to a long export download.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: The requests that are a login's steps: (method, route) → the ``step`` label.
_LOGIN_STEPS = {("POST", "/v1/auth/login"): "password", ("POST", "/v1/auth/mfa"): "mfa"}
#: The routes whose 429s are guessing throttled (shown at 0 from the start; a 429 of any route counts).
_THROTTLED_ROUTES = ("/v1/auth/login", "/v1/auth/mfa", "/oauth/token")
#: The requests the login admission (``api/admission.py``) answers 503 when the password pool is full.
_ADMITTED = frozenset({("POST", "/v1/auth/login")})


class LoginOutcome(StrEnum):
    """How a login step ended, read from its status (API.md "Authentication")."""

    ACCEPTED = "accepted"  # 200: password (or code) accepted; a password login may still ask for a code
    ERROR = "error"  # 5xx other than 503
    INVALID_CREDENTIALS = "invalid_credentials"  # 401: wrong email, password or code (or the shop's token)
    INVALID_REQUEST = "invalid_request"  # another 4xx: malformed body, missing scope
    THROTTLED = "throttled"  # 429: too many attempts for the account, the IP or the shop
    UNAVAILABLE = "unavailable"  # 503: refused by the admission or the password pool, or no database


class RefusalReason(StrEnum):
    ADMISSION = "admission"  # 503 of a login: the password pool had no place
    THROTTLE = "throttle"  # 429 of any route: the throttle (login, MFA, client secrets, filings)


def login_outcome(status: int) -> LoginOutcome:
    if status == 200:
        return LoginOutcome.ACCEPTED
    if status == 401:
        return LoginOutcome.INVALID_CREDENTIALS
    if status == 429:
        return LoginOutcome.THROTTLED
    if status == 503:
        return LoginOutcome.UNAVAILABLE
    if status >= 500:
        return LoginOutcome.ERROR
    return LoginOutcome.INVALID_REQUEST


class EdgeMetrics:
    """One app's per-process counters, in a registry of its own (several apps in one process never mix)."""

    def __init__(self) -> None:
        # ``_created`` samples belong to OpenMetrics; in the text format they would double every series.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "privacy_http_requests",
            "HTTP requests answered by this process, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "privacy_http_request_duration_seconds",
            "Time from a request's arrival at the edge to the end of its answer, by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.logins = Counter(
            "privacy_logins",
            "Login steps answered by this process: step (password, mfa) and outcome.",
            ["step", "outcome"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "privacy_refusals",
            "Requests refused to shed load or guessing: reason (throttle = 429, admission = 503 of a login).",
            ["reason", "route"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)  # CPU, resident memory, open files of this process
        self._series: dict[tuple[str, str, int], _Series] = {}
        # Every login outcome and refusal is shown from the start, at 0: a rate needs a series to exist.
        for step in _LOGIN_STEPS.values():
            for outcome in LoginOutcome:
                self.logins.labels(step, outcome.value)
        for throttled_route in _THROTTLED_ROUTES:
            self.refusals.labels(RefusalReason.THROTTLE.value, throttled_route)
        for _method, admitted_route in _ADMITTED:
            self.refusals.labels(RefusalReason.ADMISSION.value, admitted_route)

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request (``route`` is a template, never the path as sent)."""
        key = (method, route, status)
        series = self._series.get(key) or self._series.setdefault(key, self._new_series(*key))
        for counter in series.counters:
            counter.inc()
        series.latency.observe(seconds)

    def _new_series(self, method: str, route: str, status: int) -> _Series:
        """The counters one kind of answer moves, looked up once: a flood's refusals each cost a few
        increments, not a label lookup per metric."""
        counters = [self.requests.labels(method, route, str(status))]
        step = _LOGIN_STEPS.get((method, route))
        if step is not None:
            counters.append(self.logins.labels(step, login_outcome(status).value))
        if status == 429:
            counters.append(self.refusals.labels(RefusalReason.THROTTLE.value, route))
        elif status == 503 and (method, route) in _ADMITTED:
            counters.append(self.refusals.labels(RefusalReason.ADMISSION.value, route))
        return _Series(counters=tuple(counters), latency=self.latency.labels(method, route))


@dataclass(frozen=True, slots=True)
class _Series:
    counters: tuple[Counter, ...]
    latency: Histogram


class RequestMetricsMiddleware:
    """Count every HTTP answer by route template and status, with its latency; the outermost layer."""

    def __init__(
        self, app: ASGIApp, *, metrics: EdgeMetrics, routes: Callable[[], Sequence[BaseRoute]]
    ) -> None:
        self.app = app
        self._metrics = metrics
        self._routes = routes  # read when needed: routers may be added after this layer
        self._templates: RouteTemplates | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        except Exception:
            status = status or 500
            raise
        finally:
            if status:  # nothing answered: the client went away and the request was cancelled
                method = scope.get("method", "")
                self._metrics.observe(
                    method=method if method in _KNOWN_METHODS else "other",
                    route=self._route_of(scope),
                    status=status,
                    seconds=time.perf_counter() - started,
                )

    def _route_of(self, scope: Scope) -> str:
        """The template of the route that answered; for an answer from a layer before the router (the
        login admission's 503, a 413), the template of the route that would have."""
        route = scope.get("route")
        if route is not None:
            return str(getattr(route, "path", UNMATCHED_ROUTE))
        if self._templates is None:
            self._templates = RouteTemplates(self._routes())
        return self._templates.template_of(scope.get("path", ""))


class RouteTemplates:
    """The path templates of an app's routes, to name the route of a path no router has looked at."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        templates = [path for path in _route_paths(routes) if isinstance(path, str)]
        self._static = {path: path for path in templates if "{" not in path}
        self._patterns = [(compile_path(path)[0], path) for path in templates if "{" in path]

    def template_of(self, path: str) -> str:
        template = self._static.get(path)
        if template is not None:
            return template
        for pattern, template in self._patterns:
            if pattern.fullmatch(path):
                return template
        return UNMATCHED_ROUTE


def _route_paths(routes: Iterable[BaseRoute]) -> Iterator[object]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps an included router whole
        if included is not None:
            yield from _route_paths(included.routes)
        else:
            yield getattr(route, "path", None)


class ServiceCollector(Collector):
    """Figures read when ``/metrics`` is scraped: from the database, and from this process's password pool.

    Reads the app's state at each scrape (the session factory, the clock and
    the Credentials are set when the server starts). A database that does
    not answer leaves its figures out and sets ``privacy_metrics_database_up``
    to 0, so the rest still reaches the monitoring.
    """

    def __init__(self, state: State) -> None:
        self._state = state

    def describe(self) -> Iterable[Metric]:
        return ()  # registering must not query the database

    def collect(self) -> Iterator[Metric]:
        credentials: Credentials | None = self._state.credentials
        if credentials is not None:
            yield from _password_pool(credentials)
        sessions: SessionFactory = self._state.sessions
        clock: Clock = self._state.clock
        up = GaugeMetricFamily(
            "privacy_metrics_database_up", "1 when this scrape could read the database's figures, else 0."
        )
        try:
            with sessions() as session:
                tallies = task_tallies(session=session)
                freshness = trail_freshness(session=session)
        except SQLAlchemyError as error:
            log.warning("metrics could not read the database", extra={"error_type": type(error).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _dsr_figures(tallies)
        yield from _audit_figures(freshness, clock=clock)


def _password_pool(credentials: Credentials) -> Iterator[Metric]:
    pool = credentials.passwords.pool
    in_flight = pool.in_flight
    yield GaugeMetricFamily(
        "privacy_password_pool_workers", "Threads of this process that hash passwords.", value=pool.workers
    )
    yield GaugeMetricFamily(
        "privacy_password_pool_in_flight",
        "Password checks this process accepted and has not finished: running, waiting, or admitted "
        "ahead of their work.",
        value=in_flight,
    )
    yield GaugeMetricFamily(
        "privacy_password_pool_waiting",
        "Password checks of this process waiting for a thread (the queue's depth).",
        value=max(0, in_flight - pool.workers),
    )
    yield GaugeMetricFamily(
        "privacy_password_pool_expected_wait_seconds",
        "How long a login arriving now would wait for a password thread, by the pool's estimate; "
        "beyond PRIVACY_PASSWORD_POOL_WAIT_SECONDS logins are refused with 503.",
        value=pool.expected_wait_seconds,
    )


def _dsr_figures(tallies: TaskTallies) -> Iterator[Metric]:
    tasks = GaugeMetricFamily(
        "privacy_dsr_tasks",
        "DSR tasks (one per request and downstream system) by state, from the database.",
        labels=["state"],
    )
    for status, count in sorted(tallies.by_status.items()):
        tasks.add_metric([status.value], count)
    yield tasks
    deliveries = GaugeMetricFamily(
        "privacy_dsr_deliveries",
        "DSR tasks by downstream system and where their delivery stands (pending, retrying, accepted, "
        "completed, failed, cancelled), from the database.",
        labels=["system", "outcome"],
    )
    attempts: dict[str, int] = {}
    for tally in tallies.deliveries:
        deliveries.add_metric([tally.system, tally.standing.value], tally.tasks)
        attempts[tally.system] = attempts.get(tally.system, 0) + tally.attempts
    yield deliveries
    attempted = CounterMetricFamily(
        "privacy_dsr_delivery_attempts",
        "Delivery attempts made to each downstream system, by every worker, from the database.",
        labels=["system"],
    )
    for system, count in sorted(attempts.items()):
        attempted.add_metric([system], count)
    yield attempted


def _audit_figures(freshness: TrailFreshness, *, clock: Clock) -> Iterator[Metric]:
    now = clock.now()
    yield GaugeMetricFamily(
        "privacy_audit_unsealed_events",
        "Audit events recorded and not yet sealed into the hash chain.",
        value=freshness.unsealed_events,
    )
    oldest = freshness.oldest_unsealed_at
    yield GaugeMetricFamily(
        "privacy_audit_oldest_unsealed_event_age_seconds",
        "How long the oldest unsealed audit event has waited for the sealer (0 when all are sealed).",
        value=0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()),
    )
    last = freshness.last_checkpoint_at
    if last is not None:  # absent until the first checkpoint: alert with absent() as well
        yield GaugeMetricFamily(
            "privacy_audit_last_checkpoint_age_seconds",
            "How long ago the last signed audit checkpoint was written.",
            value=max(0.0, (now - last).total_seconds()),
        )


def require_metrics_token(expected: SecretStr | None, authorization: str | None) -> None:
    """404 when no token is set (as if there were no such path), 401 unless the header presents it."""
    if expected is None:
        raise StarletteHTTPException(status_code=404)
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise NotAuthenticated("Present the metrics token as a bearer token.")
    if not equal_in_constant_time(presented.strip().encode(), expected.get_secret_value().encode()):
        raise InvalidToken("This is not the metrics token.")


router = APIRouter(tags=["operations"])


@router.get(
    METRICS_PATH,
    summary="Metrics in the Prometheus text format (Authorization: Bearer <PRIVACY_METRICS_TOKEN>)",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format, version 0.0.4",
            "content": {CONTENT_TYPE_PLAIN_0_0_4: {"schema": {"type": "string"}}},
        },
        401: {"description": "unauthorized or invalid_token: the metrics token was not presented"},
        404: {"description": "not_found: no PRIVACY_METRICS_TOKEN is set"},
    },
)
def read_metrics(request: Request) -> Response:
    """Sync, so the database queries of a scrape run in a worker thread, never in the event loop."""
    require_metrics_token(request.app.state.settings.metrics_token, request.headers.get("authorization"))
    metrics: EdgeMetrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def install_metrics(app: FastAPI) -> None:
    """Serve ``GET /metrics`` and count every request: call it after every other ``add_middleware``, so
    its layer is the outermost and sees every answer.

    Without ``PRIVACY_METRICS_TOKEN`` nobody can ever read the counters (the
    path answers 404 for the process's life), so no request pays for counting:
    the layer costs about 10 us a request against 1 us without it (bare ASGI).
    """
    metrics = EdgeMetrics()
    metrics.registry.register(ServiceCollector(app.state))
    app.state.metrics = metrics
    app.include_router(router)
    settings: Settings = app.state.settings
    if settings.metrics_token is not None:
        app.add_middleware(RequestMetricsMiddleware, metrics=metrics, routes=lambda: app.routes)
