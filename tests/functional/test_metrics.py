"""GET /metrics: the Prometheus text format for the holder of PRIVACY_METRICS_TOKEN, and figures that move.

Figures are read through the endpoint as Prometheus would, parsed with
prometheus_client's own parser; each test compares two scrapes around what
it does, so figures left by the fixtures (a shop's token, a customer's
registration) never matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit import CheckpointCadence, ensure_signing_key, seal_pending_events, write_checkpoint
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.core.db import create_engine_for, create_session_factory
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.hashing_pool import PoolPlace
from privacy_service.keys.service import Keyring
from privacy_service.main import create_app
from privacy_service.work import Workplace
from tests.functional.conftest import Api, Customer, MakeCustomer, assert_problem, bearer
from tests.functional.dsr_support import DsrDriver, file
from tests.support.downstream import FakeDownstream

METRICS_TOKEN = "test-metrics-token-0123456789abcdef"

Labels = tuple[tuple[str, str], ...]
Figures = Mapping[tuple[str, Labels], float]


@pytest.fixture
def app(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    keyring: Keyring,
    credentials: Credentials,
) -> FastAPI:
    """The suite's app, with a metrics token set."""
    with_token = settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})
    app = create_app(with_token, engine=engine, clock=clock, keyring=keyring, credentials=credentials)
    app.state.sessions = sessions
    return app


def scrape(http: TestClient) -> Figures:
    """Every sample of ``GET /metrics``, by name and labels, parsed as Prometheus parses the text format."""
    response = http.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def figure(figures: Figures, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Figures, after: Figures, name: str, **labels: str) -> float:
    return figure(after, name, **labels) - figure(before, name, **labels)


# -- who may read -----------------------------------------------------------------------------------


def test_without_a_metrics_token_set_metrics_answers_404_like_an_unknown_path(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    keyring: Keyring,
    credentials: Credentials,
) -> None:
    assert settings.metrics_token is None
    app = create_app(settings, engine=engine, clock=clock, keyring=keyring, credentials=credentials)
    app.state.sessions = sessions
    with TestClient(app, raise_server_exceptions=False) as http:
        hidden = http.get("/metrics", headers=bearer(METRICS_TOKEN))
        unknown = http.get("/no-such-path")

    body = assert_problem(hidden, 404, "not_found")
    assert body["detail"] == unknown.json()["detail"]


def test_without_a_metrics_token_set_no_request_pays_for_counting(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    keyring: Keyring,
    credentials: Credentials,
) -> None:
    assert settings.metrics_token is None
    app = create_app(settings, engine=engine, clock=clock, keyring=keyring, credentials=credentials)
    app.state.sessions = sessions
    with TestClient(app, raise_server_exceptions=False) as http:
        assert http.get("/healthz").status_code == 200

    counted = app.state.metrics.registry.get_sample_value(
        "privacy_http_requests_total", {"method": "GET", "route": "/healthz", "status": "200"}
    )
    assert counted is None


def test_metrics_without_a_bearer_token_is_a_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/metrics")

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "privacy_" not in response.text


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token-0123456789abcdef0123",
        f"Bearer {METRICS_TOKEN[:-1]}",  # all but its last character
        f"Bearer {METRICS_TOKEN}x",
        f"Basic {METRICS_TOKEN}",
        f"{METRICS_TOKEN}",
        "Bearer ",
    ],
)
def test_metrics_with_anything_but_the_metrics_token_is_a_401(client: TestClient, authorization: str) -> None:
    response = client.get("/metrics", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert "privacy_" not in response.text


def test_a_users_access_token_does_not_read_metrics(api: Api, customer: Customer) -> None:
    tokens = api.tokens(customer.email, customer.password)

    response = api.http.get("/metrics", headers=tokens.headers)

    assert_problem(response, 401, "invalid_token")


def test_the_metrics_token_reads_the_prometheus_text_format_with_every_named_metric(
    client: TestClient,
) -> None:
    response = client.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "_created" not in response.text  # OpenMetrics' creation times would double every series
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "privacy_http_requests",
        "privacy_http_request_duration_seconds",
        "privacy_logins",
        "privacy_refusals",
        "privacy_password_pool_workers",
        "privacy_password_pool_in_flight",
        "privacy_password_pool_waiting",
        "privacy_password_pool_expected_wait_seconds",
        "privacy_dsr_tasks",
        "privacy_dsr_deliveries",
        "privacy_dsr_delivery_attempts",
        "privacy_audit_unsealed_events",
        "privacy_audit_oldest_unsealed_event_age_seconds",
        "privacy_metrics_database_up",
    } <= names


def test_login_outcomes_and_refusals_are_shown_at_zero_before_any_login(client: TestClient) -> None:
    figures = scrape(client)

    for step in ("password", "mfa"):
        for outcome in ("accepted", "invalid_credentials", "throttled", "unavailable"):
            assert ("privacy_logins_total", (("outcome", outcome), ("step", step))) in figures
    for route in ("/v1/auth/login", "/v1/auth/mfa", "/oauth/token"):
        assert ("privacy_refusals_total", (("reason", "throttle"), ("route", route))) in figures
    assert ("privacy_refusals_total", (("reason", "admission"), ("route", "/v1/auth/login"))) in figures


def test_metrics_is_documented_as_text_for_the_metrics_token_only(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {CONTENT_TYPE_PLAIN_0_0_4}
    assert {"401", "404"} <= set(operation["responses"])


# -- requests at the edge ---------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_and_status_never_by_the_path_as_sent(
    api: Api, customer: Customer
) -> None:
    tokens = api.tokens(customer.email, customer.password)
    before = scrape(api.http)

    for request_id in ("01JUNKNOWNREQUEST00000000A", "01JUNKNOWNREQUEST00000000B"):
        assert api.http.get(f"/v1/dsr/{request_id}", headers=tokens.headers).status_code == 404
    assert api.http.get("/healthz").status_code == 200
    assert api.http.get("/v1/no-such-thing/01JUNKNOWNPATH").status_code == 404
    text = api.http.get("/metrics", headers=bearer(METRICS_TOKEN)).text
    after = scrape(api.http)

    assert moved(before, after, "privacy_http_requests_total",
                 method="GET", route="/v1/dsr/{request_id}", status="404") == 2  # fmt: skip
    assert (
        moved(before, after, "privacy_http_requests_total", method="GET", route="/healthz", status="200") == 1
    )
    assert (
        moved(before, after, "privacy_http_requests_total", method="GET", route="unmatched", status="404")
        == 1
    )
    assert moved(before, after, "privacy_http_request_duration_seconds_count",
                 method="GET", route="/v1/dsr/{request_id}") == 2  # fmt: skip
    assert "01JUNKNOWN" not in text
    assert customer.email not in text
    assert customer.id not in text


def test_a_method_outside_the_usual_ones_is_labelled_other(client: TestClient) -> None:
    before = scrape(client)

    client.request("BREW", "/healthz")
    after = scrape(client)

    assert (
        moved(before, after, "privacy_http_requests_total", method="other", route="/healthz", status="405")
        == 1
    )


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/auth/login", "/v1/auth/login"),
        ("/v1/dsr/01JUNKNOWNREQUEST00000000C/approve", "/v1/dsr/{request_id}/approve"),
    ],
)
def test_a_body_refused_before_routing_is_counted_under_its_route_template(
    client: TestClient, path: str, template: str
) -> None:
    before = scrape(client)

    too_large = client.post(
        path, content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"}
    )
    text = client.get("/metrics", headers=bearer(METRICS_TOKEN)).text
    after = scrape(client)

    assert too_large.status_code == 413
    assert (
        moved(before, after, "privacy_http_requests_total", method="POST", route=template, status="413") == 1
    )
    assert "01JUNKNOWN" not in text


# -- logins and refusals ----------------------------------------------------------------------------


def test_logins_are_counted_by_outcome(api: Api, customer: Customer) -> None:
    before = scrape(api.http)

    assert api.login(customer.email, customer.password).status_code == 200
    for attempt in range(3):
        assert_problem(api.login(customer.email, f"Wrong-Guess-{attempt}"), 401, "invalid_credentials")
    assert_problem(api.login(customer.email, customer.password), 429, "rate_limited")
    after = scrape(api.http)

    assert moved(before, after, "privacy_logins_total", step="password", outcome="accepted") == 1
    assert moved(before, after, "privacy_logins_total", step="password", outcome="invalid_credentials") == 3
    assert moved(before, after, "privacy_logins_total", step="password", outcome="throttled") == 1
    assert moved(before, after, "privacy_refusals_total", reason="throttle", route="/v1/auth/login") == 1
    assert moved(before, after, "privacy_refusals_total", reason="admission", route="/v1/auth/login") == 0


def test_a_wrong_second_factor_is_counted_as_an_mfa_step(api: Api) -> None:
    before = scrape(api.http)

    response = api.mfa("not-an-mfa-token", "000000")
    after = scrape(api.http)

    assert response.status_code == 401
    assert moved(before, after, "privacy_logins_total", step="mfa", outcome="invalid_credentials") == 1


def test_logins_refused_by_the_admission_are_counted_as_admission_refusals(
    api: Api, customer: Customer, flood: list[PoolPlace]
) -> None:
    before = scrape(api.http)

    assert_problem(api.login(customer.email, customer.password), 503, "hashing_busy")
    after = scrape(api.http)

    assert moved(before, after, "privacy_refusals_total", reason="admission", route="/v1/auth/login") == 1
    assert moved(before, after, "privacy_logins_total", step="password", outcome="unavailable") == 1
    assert moved(before, after, "privacy_http_requests_total",
                 method="POST", route="/v1/auth/login", status="503") == 1  # fmt: skip


def test_the_password_pool_figures_show_the_checks_in_flight_and_waiting(
    client: TestClient, credentials: Credentials
) -> None:
    pool = credentials.passwords.pool
    before = scrape(client)
    places = [pool.reserve() for _ in range(pool.workers + 1)]
    try:
        during = scrape(client)
    finally:
        for place in places:
            place.release()
    after = scrape(client)

    assert figure(during, "privacy_password_pool_workers") == pool.workers
    assert moved(before, during, "privacy_password_pool_in_flight") == pool.workers + 1
    assert moved(before, during, "privacy_password_pool_waiting") == 1
    assert figure(during, "privacy_password_pool_expected_wait_seconds") > figure(
        before, "privacy_password_pool_expected_wait_seconds"
    )
    assert figure(after, "privacy_password_pool_in_flight") == figure(
        before, "privacy_password_pool_in_flight"
    )


# -- from the database ------------------------------------------------------------------------------


def test_dsr_tasks_by_state_and_deliveries_by_system_and_outcome_follow_the_tasks(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer
) -> None:
    orders.answer_completed({"orders": []})
    dsr.register(orders)
    with (
        FakeDownstream(name="crm") as crm,
        FakeDownstream(name="billing") as billing,
        FakeDownstream(name="legacy") as legacy,
    ):
        crm.fail_first(1, status=503)  # retried later
        billing.answer_accepted()  # will call back
        legacy.fail_first(1, status=400)  # refused for good
        for system in (crm, billing, legacy):
            dsr.register(system)
        me = api.tokens(customer.email, customer.password)
        before = scrape(api.http)

        file(api, me.headers, type="access")
        filed = scrape(api.http)
        dsr.deliver()
        delivered = scrape(api.http)

    assert moved(before, filed, "privacy_dsr_tasks", state="pending") == 4
    for name in ("orders", "crm", "billing", "legacy"):
        assert moved(before, filed, "privacy_dsr_deliveries", system=name, outcome="pending") == 1
        assert moved(before, delivered, "privacy_dsr_deliveries", system=name, outcome="pending") == 0
        assert moved(before, delivered, "privacy_dsr_delivery_attempts_total", system=name) == 1

    assert moved(before, delivered, "privacy_dsr_tasks", state="pending") == 1
    assert moved(before, delivered, "privacy_dsr_tasks", state="waiting") == 1
    assert moved(before, delivered, "privacy_dsr_tasks", state="completed") == 1
    assert moved(before, delivered, "privacy_dsr_tasks", state="failed") == 1
    assert moved(before, delivered, "privacy_dsr_deliveries", system="orders", outcome="completed") == 1
    assert moved(before, delivered, "privacy_dsr_deliveries", system="crm", outcome="retrying") == 1
    assert moved(before, delivered, "privacy_dsr_deliveries", system="billing", outcome="accepted") == 1
    assert moved(before, delivered, "privacy_dsr_deliveries", system="legacy", outcome="failed") == 1


def test_the_audit_backlog_ages_with_the_clock_until_the_sealer_runs(
    api: Api, make_customer: MakeCustomer, clock: FrozenClock, workplace: Workplace
) -> None:
    make_customer()  # its registration is an audit event
    recorded = scrape(api.http)
    assert figure(recorded, "privacy_audit_unsealed_events") >= 1

    clock.advance(timedelta(seconds=90))
    waited = scrape(api.http)
    with workplace.open() as work:
        seal_pending_events(work)
    sealed = scrape(api.http)

    assert moved(recorded, waited, "privacy_audit_oldest_unsealed_event_age_seconds") == 90
    assert figure(sealed, "privacy_audit_unsealed_events") == 0
    assert figure(sealed, "privacy_audit_oldest_unsealed_event_age_seconds") == 0


def test_the_age_of_the_last_checkpoint_grows_with_the_clock_and_resets_when_one_is_signed(
    client: TestClient, clock: FrozenClock, workplace: Workplace
) -> None:
    def sign_checkpoint() -> None:
        with workplace.open() as work:
            ensure_signing_key(work, provider=work.keyring.provider)
            write_checkpoint(work, provider=work.keyring.provider, cadence=CheckpointCadence(), force=True)

    sign_checkpoint()
    signed = scrape(client)
    clock.advance(timedelta(seconds=45))
    later = scrape(client)
    sign_checkpoint()
    signed_again = scrape(client)

    assert figure(signed, "privacy_audit_last_checkpoint_age_seconds") == 0
    assert figure(later, "privacy_audit_last_checkpoint_age_seconds") == 45
    assert figure(signed_again, "privacy_audit_last_checkpoint_age_seconds") == 0


def test_when_the_database_does_not_answer_the_edge_figures_are_still_served(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    unreachable = create_engine_for(
        settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    )
    app.state.sessions = create_session_factory(unreachable)
    try:
        response = client.get("/metrics", headers=bearer(METRICS_TOKEN))
    finally:
        unreachable.dispose()

    assert response.status_code == 200
    figures = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert figure(figures, "privacy_metrics_database_up") == 0
    assert figure(figures, "privacy_password_pool_workers") >= 1
    assert not any(name.startswith(("privacy_dsr_", "privacy_audit_")) for name, _ in figures)
