"""Logins admitted to the password pool at the edge: a flood is refused at once; who waits as told gets in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event

from privacy_service.identity.hashing_pool import PoolPlace
from privacy_service.identity.runtime import IdentityRuntime
from tests.functional.conftest import Api, Customer, assert_problem

FLOOD_IP = "198.18.0.1"
CUSTOMER_IP = "192.0.2.10"


@pytest.fixture
def flood(identity: IdentityRuntime) -> Iterator[list[PoolPlace]]:
    """Every unreserved place of the password pool taken, as by logins of a flood that are being checked."""
    places: list[PoolPlace] = []
    while (place := identity.admission.admit()) is not None:
        places.append(place)
    assert places
    yield places
    for place in places:
        place.release()


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
    api: Api, customer: Customer, identity: IdentityRuntime, flood: list[PoolPlace]
) -> None:
    flood.pop().release()  # one place left: the login takes it at the edge, and needs no second one

    response = api.login(customer.email, customer.password)

    assert response.status_code == 200, response.text
    assert identity.passwords.pool.in_flight == len(flood)


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
    identity: IdentityRuntime,
    body: dict[str, str],
    token: str | None,
    status: int,
) -> None:
    headers = {"Authorization": token} if token else api.shop.headers

    assert api.http.post("/v1/auth/login", json=body, headers=headers).status_code == status
    assert identity.passwords.pool.in_flight == 0


def test_other_requests_do_not_wait_for_the_password_pool(api: Api, flood: list[PoolPlace]) -> None:
    assert api.http.get("/healthz").status_code == 200
    second_factor = api.mfa("no-such-mfa-token", "123456")
    assert second_factor.status_code == 401
