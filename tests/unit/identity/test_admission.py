"""Admission to the password pool: refusals at once, and a reserved place for a login that waited as told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from privacy_service.core.clock import FrozenClock
from privacy_service.identity.admission import LoginAdmission
from privacy_service.identity.hashing_pool import HashingBusy, PasswordWorkPool, PoolPlace
from tests.support.clocks import FakeMonotonic

SHOP = b"Bearer shop-token"
EMAIL, IP = "customer@shop.example", "192.0.2.10"
ONE_SECOND = timedelta(seconds=1)


@pytest.fixture
def pool() -> Iterator[PasswordWorkPool]:
    pool = PasswordWorkPool(workers=1, queue_size=2, reserved=1)  # two places for all, one in reserve
    yield pool
    pool.shutdown(wait=False)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def admission(pool: PasswordWorkPool, clock: FrozenClock) -> LoginAdmission:
    return LoginAdmission(pool=pool, clock=clock)


def flood(admission: LoginAdmission) -> list[PoolPlace]:
    """Take every unreserved place, as a flood of logins does."""
    places = []
    while (place := admission.admit()) is not None:
        places.append(place)
    return places


def refused(
    admission: LoginAdmission, *, caller: bytes = SHOP, email: str = EMAIL, ip: str = IP
) -> HashingBusy:
    with pytest.raises(HashingBusy) as refusal:
        admission.admit_returning(caller=caller, email=email, ip=ip)
    return refusal.value


def test_logins_are_admitted_while_unreserved_places_are_free(
    admission: LoginAdmission, pool: PasswordWorkPool
) -> None:
    places = flood(admission)

    assert len(places) == 2
    assert pool.in_flight == 2
    for place in places:
        place.release()
    assert pool.in_flight == 0


def test_with_every_unreserved_place_taken_a_new_login_is_refused_with_retry_after(
    admission: LoginAdmission,
) -> None:
    flood(admission)

    refusal = refused(admission)

    assert (refusal.status, refusal.code, refusal.retry_after) == (503, "hashing_busy", 1)
    assert admission.remembered == 1


def test_a_login_that_comes_back_after_its_retry_after_gets_a_reserved_place(
    admission: LoginAdmission, pool: PasswordWorkPool, clock: FrozenClock
) -> None:
    flood(admission)
    refused(admission)
    clock.advance(ONE_SECOND)

    place = admission.admit_returning(caller=SHOP, email=EMAIL, ip=IP)

    assert place.held
    assert place.priority
    assert pool.in_flight == 3
    assert admission.remembered == 0  # the promise is kept once


def test_coming_back_early_starts_the_wait_again(admission: LoginAdmission, clock: FrozenClock) -> None:
    flood(admission)
    refused(admission)
    clock.advance(ONE_SECOND / 2)
    refused(admission)  # too early: a caller that ignores Retry-After never reaches the reserve
    clock.advance(ONE_SECOND / 2)

    refused(admission)
    clock.advance(ONE_SECOND)
    assert admission.admit_returning(caller=SHOP, email=EMAIL, ip=IP).held


def test_a_promise_lapses_when_the_login_comes_back_too_late(
    admission: LoginAdmission, clock: FrozenClock
) -> None:
    flood(admission)
    refused(admission)
    clock.advance(ONE_SECOND + timedelta(seconds=admission.promise_seconds + 1))

    refused(admission)


@pytest.mark.parametrize(
    "other",
    [
        {"caller": b"Bearer another-shop"},
        {"email": "someone-else@shop.example"},
        {"ip": "192.0.2.11"},
    ],
)
def test_a_promise_belongs_to_one_caller_email_and_ip(
    admission: LoginAdmission, clock: FrozenClock, other: dict[str, object]
) -> None:
    flood(admission)
    refused(admission)
    clock.advance(ONE_SECOND)

    refused(admission, **other)  # type: ignore[arg-type]
    assert admission.admit_returning(caller=SHOP, email=EMAIL, ip=IP).held


def test_when_the_reserve_is_taken_too_the_promise_waits_for_the_next_try(
    admission: LoginAdmission, clock: FrozenClock
) -> None:
    flood(admission)
    refused(admission)
    refused(admission, email="first@shop.example")
    clock.advance(ONE_SECOND)
    first = admission.admit_returning(caller=SHOP, email="first@shop.example", ip=IP)

    refused(admission)  # the only reserved place is taken
    first.release()
    assert admission.admit_returning(caller=SHOP, email=EMAIL, ip=IP).held


def test_one_email_reaches_the_reserve_once_per_retry_after_whatever_address_it_comes_from(
    clock: FrozenClock,
) -> None:
    """A botnet hammering one account from many addresses cannot hold the reserve other customers need."""
    admission = LoginAdmission(pool=PasswordWorkPool(workers=1, queue_size=3, reserved=2), clock=clock)
    flood(admission)
    for ip in ("198.18.0.1", "198.18.0.2"):
        refused(admission, email="victim@shop.example", ip=ip)
    refused(admission)
    clock.advance(ONE_SECOND)

    first = admission.admit_returning(caller=SHOP, email="victim@shop.example", ip="198.18.0.1")
    refused(admission, email="victim@shop.example", ip="198.18.0.2")  # the same account: not yet
    assert admission.admit_returning(caller=SHOP, email=EMAIL, ip=IP).held  # another customer: yes
    first.release()
    clock.advance(ONE_SECOND)
    assert admission.admit_returning(caller=SHOP, email="victim@shop.example", ip="198.18.0.2").held
    admission.pool.shutdown(wait=False)


def test_a_refusal_asks_the_login_to_come_back_once_the_queue_s_expected_wait_has_passed(
    clock: FrozenClock,
) -> None:
    hashes = FakeMonotonic()
    pool = PasswordWorkPool(
        workers=1, queue_size=100, reserved=1, wait_seconds=2.0, job_clock=hashes, cores=1
    )
    pool.calibrate(lambda: hashes.advance(0.5))  # a hash takes half a second: 4 may wait, 2 s at most
    admission = LoginAdmission(pool=pool, clock=clock)
    try:
        assert len(flood(admission)) == 1 + 4

        refusal = refused(admission)

        assert refusal.retry_after == 3  # the next would wait 5 x 0.5 s = 2.5 s
        clock.advance(timedelta(seconds=2))
        refused(admission)  # back before its Retry-After: the wait starts again
        clock.advance(timedelta(seconds=3))
        assert admission.admit_returning(caller=SHOP, email=EMAIL, ip=IP).priority
    finally:
        pool.shutdown(wait=False)


def test_a_body_that_is_no_login_is_refused_and_not_remembered(admission: LoginAdmission) -> None:
    flood(admission)

    with pytest.raises(HashingBusy):
        admission.admit_returning(caller=SHOP, email=None, ip=None)
    assert admission.remembered == 0


def test_refusals_remembered_are_bounded_the_oldest_forgotten_first(
    pool: PasswordWorkPool, clock: FrozenClock
) -> None:
    admission = LoginAdmission(pool=pool, clock=clock, remembered=3)
    flood(admission)
    for number in range(5):
        refused(admission, email=f"flood-{number}@example.org")
    assert admission.remembered == 3
    clock.advance(ONE_SECOND)

    refused(admission, email="flood-0@example.org")  # forgotten: a new refusal
    assert admission.admit_returning(caller=SHOP, email="flood-4@example.org", ip=IP).held


@pytest.mark.parametrize(
    "settings",
    [{"retry_after_seconds": 0}, {"promise_seconds": 0}, {"remembered": 0}],
)
def test_an_admission_without_sense_is_refused(
    pool: PasswordWorkPool, clock: FrozenClock, settings: dict[str, float]
) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        LoginAdmission(pool=pool, clock=clock, **settings)  # type: ignore[arg-type]


def test_its_repr_names_the_pool(admission: LoginAdmission) -> None:
    assert repr(admission) == (
        "LoginAdmission(pool=PasswordWorkPool(workers=1, queue_size=2, reserved=1, wait_seconds=2.0), "
        "retry_after_seconds=1)"
    )
