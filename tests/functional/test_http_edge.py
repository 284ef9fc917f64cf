"""The HTTP edge every endpoint shares: problems, request ids, security headers, body limit."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.api.deps import WorkDep
from privacy_service.api.middleware import RefusalLogSampler, RequestIdMiddleware
from privacy_service.core.config import MiB, Settings
from privacy_service.main import create_app
from tests.support.clocks import FakeMonotonic

PROBLEM = "application/problem+json"


class Signup(BaseModel):
    email: str
    password: str = Field(min_length=8)
    country: str = Field(min_length=2, max_length=2)


@pytest.fixture
def app_with_test_routes(app: FastAPI) -> FastAPI:
    @app.post("/test/signup")
    def signup(body: Signup) -> dict[str, str]:
        return {"country": body.country}

    @app.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("secret detail alice@example.com must not leak")

    return app


@pytest.fixture
def edge(app_with_test_routes: FastAPI) -> Iterator[TestClient]:
    with TestClient(app_with_test_routes, raise_server_exceptions=False) as client:
        yield client


def assert_problem(response, status: int, code: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys()
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body  # type: ignore[no-any-return]


def test_healthz_answers_while_the_process_runs(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_when_the_database_does(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200


def test_readyz_answers_503_when_the_database_does_not(settings: Settings) -> None:
    unreachable = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    with TestClient(create_app(settings, engine=unreachable), raise_server_exceptions=False) as client:
        response = client.get("/readyz")
    body = assert_problem(response, 503, "not_ready")
    assert response.headers["retry-after"] == "5"
    assert "nobody" not in str(body)


def test_an_unknown_path_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_405_problem_naming_the_allowed_ones(client: TestClient) -> None:
    response = client.delete("/healthz")
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/systems", "GET, POST"),
        ("/v1/me/profile", "GET, PATCH"),
        ("/v1/subjects/s-1/records/address", "GET, PUT"),
    ],
)
def test_options_names_every_method_of_a_path_served_by_several_routes(
    client: TestClient, path: str, allowed: str
) -> None:
    # Starlette named only the first route's methods: OPTIONS /v1/systems answered "Allow: GET".
    response = client.options(path)
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


def test_malformed_json_is_a_400_problem(edge: TestClient) -> None:
    response = edge.post(
        "/test/signup", content=b'{"email": "a@b.c", ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")


def test_a_body_that_is_not_json_is_a_415_problem(edge: TestClient) -> None:
    response = edge.post("/test/signup", content=b"email=a@b.c", headers={"content-type": "text/plain"})
    assert_problem(response, 415, "unsupported_media_type")


def test_a_missing_body_is_a_422_problem(edge: TestClient) -> None:
    body = assert_problem(edge.post("/test/signup"), 422, "validation_error")
    assert body["detail"] == "A JSON request body is required."


def test_validation_problems_list_the_fields_but_never_echo_the_values(edge: TestClient) -> None:
    response = edge.post(
        "/test/signup", json={"email": "dave@example.com", "password": "pw-Q7x", "country": "Germany"}
    )
    body = assert_problem(response, 422, "validation_error")
    fields = {error["field"] for error in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {"password", "country"}
    assert "pw-Q7x" not in response.text
    assert "Germany" not in response.text
    assert "dave@example.com" not in response.text


def test_an_unhandled_error_is_a_500_problem_that_reveals_nothing(edge: TestClient) -> None:
    response = edge.get("/test/crash", headers={"X-Request-ID": "trace-me-1"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-me-1"
    assert "alice@example.com" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "shop-7f3a"})
    assert response.headers["x-request-id"] == "shop-7f3a"


@pytest.mark.parametrize("offered", [None, "", "x" * 129, "evil\ninjected", "spaces are bad"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(
    client: TestClient, offered: str | None
) -> None:
    headers = {} if offered is None else {"X-Request-ID": offered}
    try:
        response = client.get("/healthz", headers=headers)
    except Exception:  # httpx itself refuses a newline in a header value
        pytest.skip("the client refuses to send this header")
    generated = response.headers["x-request-id"]
    assert generated != offered
    assert len(generated) == 32


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/missing")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers


def test_hsts_is_sent_only_over_tls(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        response = client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_a_body_over_the_limit_is_refused_by_its_declared_length(edge: TestClient) -> None:
    response = edge.post(
        "/test/signup", content=b"x" * (MiB + 1), headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 413, "payload_too_large")
    assert body["max_bytes"] == MiB


def test_a_streamed_body_over_the_limit_is_refused_before_it_is_read_whole(edge: TestClient) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(20 * 16):  # 20 MiB in 64 KiB chunks, with no Content-Length
            sent += 1
            yield b"x" * (64 * 1024)

    response = edge.post("/test/signup", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload_too_large")


def test_a_body_just_under_the_limit_is_accepted(edge: TestClient) -> None:
    padding = "p" * (MiB - 200)
    response = edge.post("/test/signup", json={"email": "e", "password": padding, "country": "DE"})
    assert response.status_code == 200


def test_the_openapi_document_is_served(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "/healthz" in document["paths"]


@pytest.fixture
def uow_client(app: FastAPI, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with sessions.begin() as session:
        session.execute(text("CREATE TABLE test_orders (id INTEGER PRIMARY KEY)"))

    @app.post("/test/orders/{order_id}", status_code=201)
    def create_order(order_id: int, work: WorkDep) -> dict[str, int]:
        work.session.execute(text("INSERT INTO test_orders (id) VALUES (:id)"), {"id": order_id})
        return {"id": order_id}

    @app.post("/test/orders/{order_id}/commit-fails", status_code=201)
    def create_order_whose_commit_fails(order_id: int, work: WorkDep) -> dict[str, int]:
        work.session.execute(text("INSERT INTO test_orders (id) VALUES (:id)"), {"id": order_id})

        def refuse(_session: Session) -> None:
            raise RuntimeError("the database refused the commit")

        event.listen(work.session, "before_commit", refuse)
        return {"id": order_id}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def stored_orders(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.execute(text("SELECT id FROM test_orders ORDER BY id")).scalars())


def test_a_request_commits_its_unit_of_work(uow_client: TestClient, sessions: sessionmaker[Session]) -> None:
    assert uow_client.post("/test/orders/1").status_code == 201
    assert stored_orders(sessions) == [1]


def test_a_commit_that_fails_is_answered_as_an_error_never_as_success(
    uow_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    response = uow_client.post("/test/orders/2/commit-fails")
    assert_problem(response, 500, "internal_error")
    assert stored_orders(sessions) == []


def test_refusals_under_a_flood_are_logged_once_a_second_with_how_many_were_not() -> None:
    monotonic = FakeMonotonic()
    sampler = RefusalLogSampler(interval=1.0, monotonic=monotonic)
    assert sampler.should_log("/v1/auth/login", 200) == 0  # every other answer is always logged
    assert sampler.should_log("/v1/auth/login", 503) == 0
    assert [sampler.should_log("/v1/auth/login", 503) for _ in range(99)] == [None] * 99
    assert sampler.should_log("/v1/auth/login", 429) == 0  # its own window
    assert sampler.should_log("/v1/other", 503) == 0
    assert sampler.should_log("/v1/auth/login", 200) == 0
    monotonic.advance(1.0)
    assert sampler.should_log("/v1/auth/login", 503) == 99
    assert sampler.should_log("/v1/auth/login", 503) is None


def test_the_access_log_line_of_a_sampled_refusal_says_how_many_it_stands_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def refuse(scope: object, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    monotonic = FakeMonotonic()
    edge = RequestIdMiddleware(refuse, refusals=RefusalLogSampler(monotonic=monotonic))
    http = TestClient(edge)
    with caplog.at_level(logging.INFO, logger="privacy_service.access"):
        for _ in range(5):
            assert http.post("/v1/auth/login").status_code == 503
        monotonic.advance(1.5)
        assert http.post("/v1/auth/login").status_code == 503
    lines = [record for record in caplog.records if record.name == "privacy_service.access"]
    assert [getattr(line, "refusals_not_logged", 0) for line in lines] == [0, 4]
    assert all(line.status == 503 and line.path == "/v1/auth/login" for line in lines)  # type: ignore[attr-defined]
