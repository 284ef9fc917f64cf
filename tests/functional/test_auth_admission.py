"""Logins admitted to the password pool at the edge: a flood is refused at once; who waits as told gets in."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.identity import login
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.hashing_pool import FIRST_ESTIMATE_SECONDS, HashingBusy, PoolPlace
from privacy_service.keys.service import Keyring
from privacy_service.work import Workplace
from tests.functional.conftest import CUSTOMER_PASSWORD, Api, Customer, assert_problem, unique_email

FLOOD_IP = "198.18.0.1"
CUSTOMER_IP = "192.0.2.10"
BURST = 48
PATIENCE = 60.0  # the longest a test waits for other threads; reached only when something is broken


@pytest.fixture
def statements(connection: Connection) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the test runs."""
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(connection, "before_cursor_execute", count)
    yield sent
    event.remove(connection, "before_cursor_execute", count)


def test_with_the_pool_full_a_login_is_refused_with_503_before_its_token_or_the_database_is_looked_at(
    api: Api, flood: list[PoolPlace], statements: list[str]
) -> None:
    response = api.http.post(
        "/v1/auth/login",
        json={"email": "nobody@flood.example", "password": "wrong-guess-1"},
        headers={"Authorization": "Bearer not-even-a-token"},
    )

    body = assert_problem(response, 503, "hashing_busy")
    assert response.headers["retry-after"] == "1"
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert statements == []  # not the client's token (that would be a 401), not the account, not the throttle


def test_a_customer_who_retries_after_retry_after_logs_in_while_the_flood_holds_every_other_place(
    api: Api, customer: Customer, flood: list[PoolPlace]
) -> None:
    first = api.login(customer.email, customer.password, ip=CUSTOMER_IP)
    assert_problem(first, 503, "hashing_busy")
    retry_after = timedelta(seconds=int(first.headers["retry-after"]))
    # A flooder sends again and again without waiting as told: each try restarts its wait.
    for guess in range(2):
        flooder = api.login("nobody@flood.example", f"wrong-guess-{guess}", ip=FLOOD_IP)
        assert_problem(flooder, 503, "hashing_busy")
        api.clock.advance(retry_after / 2)
    assert_problem(api.login("nobody@flood.example", "wrong-guess-2", ip=FLOOD_IP), 503, "hashing_busy")

    retried = api.login(customer.email, customer.password, ip=CUSTOMER_IP)

    assert retried.status_code == 200, retried.text
    assert retried.json()["access_token"]


def test_a_login_that_comes_back_too_early_is_refused_again(
    api: Api, customer: Customer, flood: list[PoolPlace]
) -> None:
    assert_problem(api.login(customer.email, customer.password, ip=CUSTOMER_IP), 503, "hashing_busy")
    api.clock.advance(timedelta(milliseconds=500))

    assert_problem(api.login(customer.email, customer.password, ip=CUSTOMER_IP), 503, "hashing_busy")


def test_the_reserved_place_still_goes_through_the_throttle_and_the_password_check(
    api: Api, customer: Customer, flood: list[PoolPlace]
) -> None:
    assert_problem(api.login(customer.email, "not-the-password", ip=CUSTOMER_IP), 503, "hashing_busy")
    api.clock.advance(timedelta(seconds=1))

    assert_problem(api.login(customer.email, "not-the-password", ip=CUSTOMER_IP), 401, "invalid_credentials")


def test_a_login_admitted_at_the_edge_checks_its_password_in_the_place_it_was_given(
    api: Api, customer: Customer, credentials: Credentials, flood: list[PoolPlace]
) -> None:
    flood.pop().release()  # one place left: the login takes it at the edge, and needs no second one

    response = api.login(customer.email, customer.password)

    assert response.status_code == 200, response.text
    assert credentials.passwords.pool.in_flight == len(flood)


@pytest.mark.parametrize(
    ("body", "token", "status"),
    [
        ({"email": "nobody@shop.example", "password": "wrong-guess-1"}, None, 401),
        ({"email": "nobody@shop.example", "password": "wrong-guess-1"}, "Bearer forged", 401),
        ({"email": "nobody@shop.example"}, None, 422),
    ],
)
def test_the_place_is_given_back_whatever_the_login_answers(
    api: Api,
    credentials: Credentials,
    body: dict[str, str],
    token: str | None,
    status: int,
) -> None:
    headers = {"Authorization": token} if token else api.shop.headers

    assert api.http.post("/v1/auth/login", json=body, headers=headers).status_code == status
    assert credentials.passwords.pool.in_flight == 0


def test_other_requests_do_not_wait_for_the_password_pool(api: Api, flood: list[PoolPlace]) -> None:
    assert api.http.get("/healthz").status_code == 200
    second_factor = api.mfa("no-such-mfa-token", "123456")
    assert second_factor.status_code == 401


class OneSessionAtATime:
    """The test's session factory, one session open at a time.

    The test's single connection (rolled back afterwards) cannot be used by
    threads at once, so concurrent requests take turns at the database, and
    only there: they wait for the password pool side by side.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        with self._lock, self._sessions() as session:
            yield session


@pytest.fixture
def concurrent(app: FastAPI, client: TestClient, sessions: sessionmaker[Session]) -> None:
    """The running app's units of work take turns at the test's connection (``client`` has built them)."""
    one_at_a_time = cast("sessionmaker[Session]", OneSessionAtATime(sessions))  # Workplace only calls it
    app.state.sessions = one_at_a_time
    app.state.workplace = replace(app.state.workplace, sessions=one_at_a_time)


@contextmanager
def every_password_thread_busy(credentials: Credentials) -> Iterator[threading.Event]:
    """Every password thread busy until the event is set, so logins queue behind them."""
    pool = credentials.passwords.pool
    done = threading.Event()
    started = threading.Semaphore(0)

    def hold() -> None:
        started.release()
        done.wait(PATIENCE)

    held = [pool.submit(hold) for _ in range(pool.workers)]
    try:
        for _ in held:
            assert started.acquire(timeout=PATIENCE)
        yield done
    finally:
        done.set()
        for future in held:
            future.result(timeout=PATIENCE)


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll what other threads make true; fail instead of hanging (never an assertion on time)."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.005)


def test_a_burst_of_logins_beyond_the_old_queue_waits_holding_no_thread_and_every_one_succeeds(
    api: Api, credentials: Credentials, concurrent: None
) -> None:
    """48 logins at once: 8 times what the pool once admitted (2 waiting per thread), more than the
    server's 40 worker threads. They queue for argon2 without holding a thread: a sync route is served
    meanwhile. Then every one logs in; none is refused."""
    pool = credentials.passwords.pool
    customers = [unique_email(f"burst-{number}") for number in range(BURST)]
    for email in customers:
        assert api.register(email=email, password=CUSTOMER_PASSWORD).status_code == 201
    headers = api.shop.headers

    def log_in(email: str) -> httpx.Response:
        response: httpx.Response = api.http.post(
            "/v1/auth/login", json={"email": email, "password": CUSTOMER_PASSWORD}, headers=headers
        )
        return response

    with every_password_thread_busy(credentials) as busy, ThreadPoolExecutor(BURST + 1) as senders:
        answers = [senders.submit(log_in, email) for email in customers]
        wait_until(lambda: pool.queued == BURST or any(answer.done() for answer in answers))
        assert pool.queued == BURST, [answer.result().status_code for answer in answers if answer.done()]

        health = senders.submit(api.http.get, "/healthz")  # a sync route: it needs a worker thread
        assert health.result(timeout=PATIENCE).status_code == 200
        assert not any(answer.done() for answer in answers)  # every login is still waiting for argon2

        busy.set()
        statuses = [answer.result(timeout=PATIENCE).status_code for answer in answers]

    assert statuses == [200] * BURST
    assert pool.in_flight == 0


def burn_cpu(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU time, as a hash would."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def test_a_flood_beyond_the_wait_budget_is_refused_at_once_with_the_expected_wait_as_retry_after(
    api: Api, credentials: Credentials, statements: list[str]
) -> None:
    pool = credentials.passwords.pool
    pool.calibrate(lambda: burn_cpu(0.05))  # hashes now take 50 ms of CPU: about 80 may wait 2 s
    places = []
    while (place := credentials.admission.admit()) is not None:
        places.append(place)
    assert pool.workers < len(places) < pool.workers + pool.queue_size  # the budget refused, not the cap

    headers = api.shop.headers  # the shop's token, fetched before the flood
    statements.clear()

    response = api.http.post(
        "/v1/auth/login", json={"email": "nobody@flood.example", "password": "wrong-1"}, headers=headers
    )

    assert_problem(response, 503, "hashing_busy")
    assert int(response.headers["retry-after"]) > pool.wait_seconds  # when the queue ahead will have gone
    assert statements == []
    for place in places:
        place.release()


def test_a_login_the_pool_gives_up_on_answers_503_and_leaves_the_account_free(
    api: Api, customer: Customer, credentials: Credentials
) -> None:
    credentials.passwords.pool.timeout_seconds = 0.01  # the queued check is given up almost at once
    with every_password_thread_busy(credentials):
        given_up = api.login(customer.email, customer.password, ip=CUSTOMER_IP)

    body = assert_problem(given_up, 503, "hashing_busy")
    assert "too long" in body["detail"]
    wait_until(lambda: credentials.passwords.pool.in_flight == 0)
    credentials.passwords.pool.timeout_seconds = PATIENCE
    again = api.login(customer.email, customer.password, ip=CUSTOMER_IP)
    assert again.status_code == 200, again.text  # not 429: the hold was given back, nothing was counted


def test_a_direct_login_gives_the_account_s_hold_back_when_the_pool_refuses(
    api: Api,
    customer: Customer,
    credentials: Credentials,
    workplace: Workplace,
    flood: list[PoolPlace],
) -> None:
    """``login.login``, as callers outside the HTTP route use it, with no place taken at the edge."""
    attempt = login.LoginAttempt(
        email=customer.email, password=customer.password, client_id=api.shop.client_id
    )

    def log_in() -> login.LoginResult:
        return login.login(workplace=workplace, credentials=credentials, attempt=attempt)

    with pytest.raises(HashingBusy):
        log_in()
    for place in flood:
        place.release()

    granted = log_in().granted  # not TooManyAttempts: the hold was given back
    assert granted is not None
    assert granted.tokens is not None


def test_the_service_s_pool_takes_its_budget_from_the_settings_and_its_estimate_from_a_hash_at_start_up(
    settings: Settings, keyring: Keyring, clock: FrozenClock
) -> None:
    runtime = Credentials.from_settings(
        settings.model_copy(update={"password_pool_wait_seconds": 0.5, "password_pool_queue": 7}),
        keyring=keyring,
        clock=clock,
    )
    try:
        pool = runtime.passwords.pool
        assert (pool.wait_seconds, pool.queue_size, pool.timeout_seconds) == (0.5, 7, 10.0)
        assert pool.mean_seconds != FIRST_ESTIMATE_SECONDS  # timed: the test suite's argon2 is far cheaper
    finally:
        runtime.close()
