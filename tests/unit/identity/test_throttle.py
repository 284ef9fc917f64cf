"""Failed-login throttling (ASVS 4.0.3 2.2.1, NIST SP 800-63B §5.2.2): limits, delays, stores, privacy."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.core.errors import Unavailable
from privacy_service.crypto import InvalidKeyMaterial
from privacy_service.identity.errors import InvalidCredentials, TooManyAttempts
from privacy_service.identity.models import LoginFailure, LoginHold
from privacy_service.identity.throttle import (
    DatabaseFailureStore,
    FailureStore,
    LoginThrottle,
    RedisFailureStore,
    ThrottleLimits,
    ThrottleScope,
    Window,
    purge_expired,
)
from privacy_service.work import Work
from tests.conftest import requires_postgres

REDIS_URL = os.environ.get("PRIVACY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DIGEST_KEY = bytes(range(32))
DEFAULTS = ThrottleLimits.default()
# Without delays, so that tests on Redis (real time) can fill a window at once.
NO_DELAYS = dataclasses.replace(DEFAULTS, free_failures=DEFAULTS.per_account.limit)

ACCOUNT = b"01JUSER0000000000000000001"
IP = "203.0.113.7"
CLIENT = "01JCLIENT00000000000000001"

MakeThrottle = Callable[..., LoginThrottle]


@pytest.fixture
def throttle_for(session: Session, clock: FrozenClock) -> MakeThrottle:
    """A throttle on the database store of the test's session, with the default limits unless told."""

    def make(limits: ThrottleLimits = DEFAULTS) -> LoginThrottle:
        store = DatabaseFailureStore(session=session, clock=clock)
        return LoginThrottle(store=store, digest_key=DIGEST_KEY, limits=limits)

    return make


@pytest.fixture
def throttle(throttle_for: MakeThrottle) -> LoginThrottle:
    return throttle_for()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in Redis, removed afterwards; skips when Redis is unreachable."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        client.close()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"privacy-test:{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def redis_throttle(prefix: str, limits: ThrottleLimits = NO_DELAYS) -> LoginThrottle:
    """A throttle as one service process builds it: its own connection to the shared Redis."""
    store = RedisFailureStore(url=REDIS_URL, key_prefix=prefix)
    return LoginThrottle(store=store, digest_key=DIGEST_KEY, limits=limits)


def fail(
    throttle: LoginThrottle, *, account: bytes = ACCOUNT, ip: str | None = IP, client: str | None = CLIENT
) -> None:
    """One login with a wrong password, as the login service runs it: check, verify (wrong), record."""
    throttle.check(account_key=account, ip=ip, client_id=client)
    throttle.record_failure(account_key=account, ip=ip, client_id=client)


def seconds_to_wait(refused: TooManyAttempts) -> int:
    """The Retry-After of a refusal (always set on TooManyAttempts; the base class allows None)."""
    assert refused.retry_after is not None
    return refused.retry_after


def fail_when_allowed(throttle: LoginThrottle, clock: FrozenClock, *, account: bytes = ACCOUNT) -> int:
    """Wait (on the frozen clock) as long as the throttle asks, then fail once; return the seconds waited."""
    waited = 0
    while True:
        try:
            fail(throttle, account=account)
        except TooManyAttempts as refused:
            waited += seconds_to_wait(refused)
            clock.advance(timedelta(seconds=seconds_to_wait(refused)))
        else:
            return waited


def retry_after(throttle: LoginThrottle, *, account: bytes = ACCOUNT, ip: str | None = IP) -> int:
    with pytest.raises(TooManyAttempts) as refused:
        throttle.check(account_key=account, ip=ip, client_id=CLIENT)
    return seconds_to_wait(refused.value)


# Limits per account --------------------------------------------------------------------------


def test_ten_failures_on_an_account_are_allowed_then_the_eleventh_is_refused_with_retry_after(
    throttle: LoginThrottle, clock: FrozenClock
) -> None:
    for _ in range(10):
        fail(throttle)
        clock.advance(timedelta(seconds=65))  # longer than any delay before the tenth (64 s)

    with pytest.raises(TooManyAttempts) as refused:
        throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)

    assert refused.value.status == 429
    assert refused.value.code == "rate_limited"
    # The first failure (at 0 s) leaves the 15-minute window at 900 s; it is 650 s now.
    assert refused.value.retry_after == 900 - 650


def test_a_correct_password_is_refused_while_the_account_is_throttled(
    throttle: LoginThrottle, clock: FrozenClock
) -> None:
    verified: list[str] = []

    def login(password: str) -> str:
        throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)  # before the password is looked at
        verified.append(password)
        if password != "correct horse":
            throttle.record_failure(account_key=ACCOUNT, ip=IP, client_id=CLIENT)
            raise InvalidCredentials()
        throttle.record_success(account_key=ACCOUNT)
        return "tokens"

    for _ in range(10):
        fail_when_allowed(throttle, clock)
    with pytest.raises(TooManyAttempts) as refused:
        login("correct horse")
    assert "correct horse" not in verified

    clock.advance(timedelta(seconds=seconds_to_wait(refused.value)))
    assert login("correct horse") == "tokens"


def test_the_window_slides_so_the_account_opens_again_by_itself(
    throttle: LoginThrottle, clock: FrozenClock
) -> None:
    for _ in range(10):
        fail_when_allowed(throttle, clock)
    wait = retry_after(throttle)
    assert 0 < wait <= DEFAULTS.per_account.seconds

    clock.advance(timedelta(seconds=wait - 1))
    assert retry_after(throttle) == 1
    clock.advance(timedelta(seconds=1))
    throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)  # one failure has left the window


def test_delays_grow_exponentially_after_three_free_failures(
    throttle: LoginThrottle, clock: FrozenClock
) -> None:
    waits = [fail_when_allowed(throttle, clock) for _ in range(10)]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64]


def test_delays_stop_growing_at_their_cap(throttle_for: MakeThrottle, clock: FrozenClock) -> None:
    limits = dataclasses.replace(
        DEFAULTS, per_account=Window(limit=100, seconds=3600), free_failures=1, max_delay_seconds=8
    )
    throttle = throttle_for(limits)
    waits = [fail_when_allowed(throttle, clock) for _ in range(7)]
    assert waits == [0, 1, 2, 4, 8, 8, 8]


def test_a_success_ends_the_delay_streak_but_not_the_window(
    throttle: LoginThrottle, clock: FrozenClock
) -> None:
    before = [fail_when_allowed(throttle, clock) for _ in range(5)]
    clock.advance(timedelta(seconds=retry_after(throttle)))  # the customer waits, then gets it right
    throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)
    throttle.record_success(account_key=ACCOUNT)
    after = [fail_when_allowed(throttle, clock) for _ in range(5)]

    assert before == [0, 0, 0, 1, 2]
    assert after == [0, 0, 0, 1, 2]  # free again after the success
    # ... but all ten failures are still in the 15-minute window.
    assert retry_after(throttle) > 800


def test_check_tells_the_streak_so_a_success_after_a_clean_check_clears_nothing(
    throttle: LoginThrottle, clock: FrozenClock, session: Session
) -> None:
    assert throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT) == 0
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(session.get_bind(), "before_cursor_execute", count)
    throttle.record_success(account_key=ACCOUNT, streak=0)
    event.remove(session.get_bind(), "before_cursor_execute", count)
    assert len(statements) == 1  # the hold's release, and no clearing of failures
    assert "login_holds" in statements[0]

    fail(throttle)
    fail(throttle)
    streak = throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)
    assert streak == 2
    throttle.record_success(account_key=ACCOUNT, streak=streak)
    assert throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT) == 0  # the streak was cleared


def test_an_attacker_retrying_at_every_allowed_moment_gets_at_most_100_failures_in_any_hour(
    throttle: LoginThrottle, clock: FrozenClock
) -> None:
    start = clock.now()
    failures: list[float] = []
    refusals: list[int] = []
    while (elapsed := (clock.now() - start).total_seconds()) < 3 * 3600:
        try:
            fail(throttle)
        except TooManyAttempts as refused:
            refusals.append(seconds_to_wait(refused))
            clock.advance(timedelta(seconds=refusals[-1]))  # retry exactly when allowed
        else:
            failures.append(elapsed)

    most_in_an_hour = max(sum(1 for t in failures if first <= t < first + 3600) for first in failures)
    assert most_in_an_hour <= 100  # NIST SP 800-63B §5.2.2
    assert most_in_an_hour <= DEFAULTS.failures_per_hour_at_most == 40
    assert max(refusals) <= DEFAULTS.max_delay_seconds  # never locked out for longer than a window


def test_limits_that_could_allow_more_than_100_failures_an_hour_are_refused() -> None:
    with pytest.raises(ValueError, match="100 failures an hour"):
        dataclasses.replace(DEFAULTS, per_account=Window(limit=11, seconds=300))  # 11 x 12 = 132
    assert dataclasses.replace(DEFAULTS, per_account=Window(limit=100, seconds=3600))


@pytest.mark.parametrize(
    "changes",
    [
        {"free_failures": 0},
        {"first_delay_seconds": 0},
        {"first_delay_seconds": 10, "max_delay_seconds": 5},
        {"streak_seconds": 0},
        {"hold_seconds": 0},
    ],
)
def test_limits_without_sense_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        dataclasses.replace(DEFAULTS, **changes)


def test_a_window_needs_a_limit_and_a_length() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Window(limit=0, seconds=900)
    with pytest.raises(ValueError, match="at least 1"):
        Window(limit=10, seconds=0)


# Limits per IP and per client ----------------------------------------------------------------


def test_fifty_failures_from_one_ip_across_many_accounts_block_that_ip_only(throttle: LoginThrottle) -> None:
    for number in range(50):
        fail(throttle, account=f"account-{number}".encode())

    assert retry_after(throttle, account=b"account-new") == DEFAULTS.per_ip.seconds
    throttle.check(account_key=b"account-new", ip="198.51.100.1", client_id=CLIENT)


def test_the_addresses_of_one_ipv6_64_count_as_one_ip(throttle_for: MakeThrottle) -> None:
    throttle = throttle_for(dataclasses.replace(DEFAULTS, per_ip=Window(limit=2, seconds=900)))
    fail(throttle, account=b"a", ip="2001:db8:0:1::1")
    fail(throttle, account=b"b", ip="2001:db8:0:1:ffff::2")

    assert retry_after(throttle, account=b"c", ip="2001:DB8:0:1::3") == 900
    throttle.check(account_key=b"c", ip="2001:db8:0:2::1", client_id=CLIENT)


def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(throttle_for: MakeThrottle) -> None:
    throttle = throttle_for(dataclasses.replace(DEFAULTS, per_ip=Window(limit=1, seconds=900)))
    fail(throttle, account=b"a", ip="::ffff:203.0.113.7")
    assert retry_after(throttle, account=b"b", ip=" 203.0.113.7 ") == 900


def test_text_that_is_not_an_address_is_counted_as_it_is(throttle_for: MakeThrottle) -> None:
    throttle = throttle_for(dataclasses.replace(DEFAULTS, per_ip=Window(limit=1, seconds=900)))
    fail(throttle, account=b"a", ip="unknown")
    assert retry_after(throttle, account=b"b", ip="unknown") == 900
    throttle.check(account_key=b"b", ip="elsewhere", client_id=CLIENT)


def test_the_client_limit_counts_failures_of_every_account_and_ip(throttle_for: MakeThrottle) -> None:
    throttle = throttle_for(dataclasses.replace(DEFAULTS, per_client=Window(limit=5, seconds=900)))
    for number in range(5):
        fail(throttle, account=f"account-{number}".encode(), ip=f"198.51.100.{number}")

    with pytest.raises(TooManyAttempts):
        throttle.check(account_key=b"account-new", ip="192.0.2.1", client_id=CLIENT)
    throttle.check(account_key=b"account-new", ip="192.0.2.1", client_id="another-shop")


def test_a_login_that_names_no_client_counts_per_account_and_address_only(
    throttle_for: MakeThrottle, session: Session
) -> None:
    """The caller's policy (the pages' sign-ins, ``LoginAttempt.client_bucket``): no client's window."""
    throttle = throttle_for(dataclasses.replace(DEFAULTS, per_client=Window(limit=2, seconds=900)))
    for number in range(5):  # spread over many addresses, as a botnet would
        fail(throttle, account=f"account-{number}".encode(), ip=f"198.51.100.{number}", client=None)

    throttle.check(account_key=b"a customer", ip="192.0.2.1", client_id=None)
    assert "client" not in session.scalars(select(LoginFailure.scope)).all()


def test_a_login_without_an_ip_counts_against_the_account_and_the_client_only(
    throttle_for: MakeThrottle, session: Session
) -> None:
    throttle = throttle_for(dataclasses.replace(DEFAULTS, per_ip=Window(limit=1, seconds=900)))
    fail(throttle, account=b"a", ip=None)
    fail(throttle, account=b"b", ip=" ")  # an empty context.ip is no IP either
    fail(throttle, account=b"c", ip=None)  # the IP limit of 1 never applies

    scopes = session.scalars(select(LoginFailure.scope)).all()
    assert sorted(set(scopes)) == ["account", "client", "streak"]
    assert scopes.count("client") == 3


# What is stored, and for how long ------------------------------------------------------------


def test_the_failure_log_holds_keyed_digests_not_ids_or_ips(
    throttle: LoginThrottle, throttle_for: MakeThrottle, session: Session
) -> None:
    fail(throttle)
    keys = {row.scope: row.key for row in session.scalars(select(LoginFailure))}

    assert set(keys) == {"account", "streak", "ip", "client"}
    for key in keys.values():
        assert len(key) == 32
        for clear in (ACCOUNT, IP.encode(), CLIENT.encode()):
            assert clear not in key
            assert key != hashlib.sha256(clear).digest()  # keyed, not a plain hash anyone can recompute
    assert keys["account"] == keys["streak"]  # one account, two counters

    other = LoginThrottle(
        store=DatabaseFailureStore(session=session, clock=FrozenClock()),
        digest_key=bytes(32),
        limits=DEFAULTS,
    )
    fail(other, account=b"someone else")
    assert len(session.scalars(select(LoginFailure.key).distinct()).all()) == 3 + 3


def test_the_digest_key_must_be_256_bits(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(InvalidKeyMaterial):
        LoginThrottle(store=DatabaseFailureStore(session=session, clock=clock), digest_key=b"short")


def test_the_throttle_describes_itself_without_its_key(throttle: LoginThrottle) -> None:
    assert "DatabaseFailureStore" in repr(throttle)
    assert DIGEST_KEY.hex() not in repr(throttle)
    assert throttle.limits == DEFAULTS


def test_purge_removes_only_failures_that_no_window_counts(
    throttle: LoginThrottle, session: Session, clock: FrozenClock, work: Work
) -> None:
    fail(throttle, account=b"old")
    clock.advance(timedelta(seconds=DEFAULTS.longest_window_seconds - 1))
    fail(throttle, account=b"recent")
    clock.advance(timedelta(seconds=1))  # the old failure is exactly one streak old: in no window

    assert purge_expired(work) == 4
    assert purge_expired(work, limits=DEFAULTS) == 0
    remaining = session.scalars(select(LoginFailure.at)).all()
    assert len(remaining) == 4
    assert all(at == clock.now() - timedelta(seconds=1) for at in remaining)


def test_purge_removes_the_holds_of_attempts_that_died_once_they_expired(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    store = DatabaseFailureStore(session=session, clock=clock)
    store.hold(key=b"died", seconds=15)  # and never recorded an outcome
    clock.advance(timedelta(seconds=10))
    store.hold(key=b"in flight", seconds=15)
    assert purge_expired(work) == 0
    clock.advance(timedelta(seconds=5))

    assert purge_expired(work) == 1
    assert session.scalars(select(LoginHold.key)).all() == [b"in flight"]


# The stores: one contract, two backends ------------------------------------------------------

WINDOW = Window(limit=3, seconds=900)


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, session: Session, clock: FrozenClock) -> FailureStore:
    if request.param == "database":
        return DatabaseFailureStore(session=session, clock=clock)
    return RedisFailureStore(url=REDIS_URL, key_prefix=request.getfixturevalue("redis_prefix"))


def test_a_store_counts_each_scope_and_key_apart(store: FailureStore) -> None:
    for _ in range(2):
        store.add(scope=ThrottleScope.ACCOUNT, key=b"k1", window=WINDOW)
    store.add(scope=ThrottleScope.ACCOUNT, key=b"k2", window=WINDOW)
    store.add(scope=ThrottleScope.IP, key=b"k1", window=WINDOW)

    assert store.state(scope=ThrottleScope.ACCOUNT, key=b"k1", window=WINDOW).count == 2
    assert store.state(scope=ThrottleScope.ACCOUNT, key=b"k2", window=WINDOW).count == 1
    assert store.state(scope=ThrottleScope.IP, key=b"k1", window=WINDOW).count == 1
    assert store.state(scope=ThrottleScope.CLIENT, key=b"k1", window=WINDOW).count == 0


def test_a_store_reports_when_a_full_window_reopens_and_how_old_the_last_failure_is(
    store: FailureStore,
) -> None:
    empty = store.state(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW)
    assert (empty.count, empty.reopens_in, empty.since_last) == (0, 0.0, None)

    for _ in range(2):
        store.add(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW)
    below = store.state(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW)
    assert below.reopens_in == 0.0
    assert below.since_last is not None
    assert 0.0 <= below.since_last < 5

    store.add(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW)
    full = store.state(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW)
    assert full.count == 3
    assert WINDOW.seconds - 5 < full.reopens_in <= WINDOW.seconds


def test_a_store_forgets_a_cleared_key_only(store: FailureStore) -> None:
    store.add(scope=ThrottleScope.STREAK, key=b"k", window=WINDOW)
    store.add(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW)
    store.clear(scope=ThrottleScope.STREAK, key=b"k", window=WINDOW)

    cleared = store.state(scope=ThrottleScope.STREAK, key=b"k", window=WINDOW)
    assert (cleared.count, cleared.since_last) == (0, None)
    assert store.state(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW).count == 1


def test_the_database_store_counts_past_the_limit_and_reopens_when_enough_have_left(
    session: Session, clock: FrozenClock
) -> None:
    # Concurrent logins from one IP may each pass the check before any failure is written.
    store = DatabaseFailureStore(session=session, clock=clock)
    for _ in range(4):
        store.add(scope=ThrottleScope.IP, key=b"k", window=WINDOW)
        clock.advance(timedelta(seconds=10))

    state = store.state(scope=ThrottleScope.IP, key=b"k", window=WINDOW)
    assert state.count == 4
    assert state.reopens_in == 900 + 10 - 40  # the second failure (at 10 s) must leave, not the first


# Holds: one attempt at a time per account ----------------------------------------------------


def test_a_database_hold_outlives_the_unit_of_work_that_took_it_until_it_is_released(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    # The login checks in one unit of work and records the outcome in another, after the password.
    def hold(key: bytes) -> bool:
        with sessions() as session:
            held = DatabaseFailureStore(session=session, clock=clock).hold(key=key, seconds=15)
            session.commit()
            return held

    assert hold(b"account1")
    assert not hold(b"account1")  # still being verified
    assert hold(b"account2")
    with sessions() as session:
        DatabaseFailureStore(session=session, clock=clock).release(key=b"account1")
        session.commit()
    assert hold(b"account1")


def test_a_database_hold_left_behind_by_a_crashed_attempt_expires_by_itself(
    session: Session, clock: FrozenClock
) -> None:
    store = DatabaseFailureStore(session=session, clock=clock)
    assert store.hold(key=b"account1", seconds=15)  # ... and the attempt never records an outcome
    clock.advance(timedelta(seconds=14))
    assert not store.hold(key=b"account1", seconds=15)
    clock.advance(timedelta(seconds=1))
    assert store.hold(key=b"account1", seconds=15)
    assert not store.hold(key=b"account1", seconds=15)  # taken over with a new expiry


@requires_postgres
def test_on_postgresql_a_hold_committed_by_one_connection_refuses_the_attempt_of_another(
    engine: Engine, clock: FrozenClock
) -> None:
    key = b"held across connections"
    try:
        with Session(engine) as first, Session(engine) as second:
            assert DatabaseFailureStore(session=first, clock=clock).hold(key=key, seconds=15)
            first.commit()
            assert not DatabaseFailureStore(session=second, clock=clock).hold(key=key, seconds=15)
            second.rollback()
            DatabaseFailureStore(session=first, clock=clock).release(key=key)
            first.commit()
            assert DatabaseFailureStore(session=second, clock=clock).hold(key=key, seconds=15)
            second.commit()
    finally:
        with Session(engine) as cleanup:
            DatabaseFailureStore(session=cleanup, clock=clock).release(key=key)
            cleanup.commit()


@pytest.mark.parametrize("store_kind", ["database", "redis"])
def test_a_second_attempt_on_an_account_is_refused_while_the_first_is_being_verified(
    store_kind: str, request: pytest.FixtureRequest
) -> None:
    if store_kind == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        first, second = redis_throttle(prefix), redis_throttle(prefix)
    else:
        throttle_for = request.getfixturevalue("throttle_for")
        first, second = throttle_for(NO_DELAYS), throttle_for(NO_DELAYS)

    first.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)
    assert retry_after(second) == 1
    second.check(account_key=b"another account", ip=IP, client_id=CLIENT)

    first.record_failure(account_key=ACCOUNT, ip=IP, client_id=CLIENT)  # the outcome ends the hold
    second.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)
    second.record_success(account_key=ACCOUNT)
    first.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)
    first.abandon(account_key=ACCOUNT)  # neither outcome (say the hashing pool was busy)
    second.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)


def test_a_refused_attempt_leaves_no_hold(redis_prefix: str) -> None:
    limits = dataclasses.replace(NO_DELAYS, per_account=Window(limit=1, seconds=900))
    first, second = redis_throttle(redis_prefix, limits), redis_throttle(redis_prefix, limits)
    fail(first)

    assert retry_after(first) >= 899
    assert retry_after(second) >= 899  # not 1: the first refusal released its hold


def test_a_hold_left_behind_by_a_crashed_attempt_expires_by_itself(redis_prefix: str) -> None:
    crashed = redis_throttle(redis_prefix)
    crashed.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)  # ... and never records an outcome
    client = redis.Redis.from_url(REDIS_URL)
    (hold,) = client.scan_iter(match=f"{redis_prefix}:hold:*")
    assert 0 < client.pttl(hold) <= NO_DELAYS.hold_seconds * 1000
    client.close()

    short = dataclasses.replace(NO_DELAYS, hold_seconds=0.001)
    redis_throttle(redis_prefix, short).check(account_key=b"crashes", ip=IP, client_id=CLIENT)
    next_one = redis_throttle(redis_prefix, short)
    deadline = time.monotonic() + 5
    while True:  # gone within milliseconds
        try:
            next_one.check(account_key=b"crashes", ip=IP, client_id=CLIENT)
            break
        except TooManyAttempts:
            assert time.monotonic() < deadline
            time.sleep(0.001)


# Redis: shared by every service process ------------------------------------------------------


def test_two_service_processes_share_their_counters_in_redis(redis_prefix: str) -> None:
    processes = [redis_throttle(redis_prefix), redis_throttle(redis_prefix)]
    for number in range(10):
        fail(processes[number % 2])

    for process in processes:
        assert DEFAULTS.per_account.seconds - 2 <= retry_after(process) <= DEFAULTS.per_account.seconds


def test_redis_counts_the_ip_and_client_limits_like_the_database(redis_prefix: str) -> None:
    limits = dataclasses.replace(
        NO_DELAYS, per_ip=Window(limit=3, seconds=900), per_client=Window(limit=5, seconds=900)
    )
    throttle = redis_throttle(redis_prefix, limits)
    for number in range(3):
        fail(throttle, account=f"account-{number}".encode())
    assert retry_after(throttle, account=b"new") >= 899  # the IP is full

    for number in range(3, 5):
        fail(throttle, account=f"account-{number}".encode(), ip=None)
    with pytest.raises(TooManyAttempts):  # the client is full
        throttle.check(account_key=b"new", ip=None, client_id=CLIENT)
    throttle.check(account_key=b"new", ip=None, client_id="another-shop")


def test_redis_delays_an_account_after_three_free_failures(redis_prefix: str) -> None:
    # Redis windows run on real time, which a FrozenClock cannot move: only the first delay is checked.
    throttle = redis_throttle(redis_prefix, DEFAULTS)
    for _ in range(3):
        fail(throttle)
    assert retry_after(throttle) == 1


def test_redis_ends_the_delay_streak_on_success(redis_prefix: str) -> None:
    throttle = redis_throttle(redis_prefix, DEFAULTS)
    for _ in range(3):
        fail(throttle)
    throttle.record_success(account_key=ACCOUNT)
    fail(throttle)


def test_an_unreachable_redis_refuses_logins_with_503_instead_of_letting_them_through() -> None:
    store = RedisFailureStore(url="redis://127.0.0.1:1/0", key_prefix="unreachable", timeout_seconds=0.2)
    throttle = LoginThrottle(store=store, digest_key=DIGEST_KEY)

    with pytest.raises(Unavailable) as unavailable:
        throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)
    assert unavailable.value.status == 503
    assert "unreachable" in repr(store)


def test_states_answers_what_state_answers_for_each_window_in_order(
    store: FailureStore, clock: FrozenClock
) -> None:
    long_window = Window(limit=5, seconds=3600)
    for _ in range(3):
        store.add(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW)  # full
    store.add(scope=ThrottleScope.STREAK, key=b"k", window=long_window)  # same key, another scope
    store.add(scope=ThrottleScope.IP, key=b"ip", window=WINDOW)
    windows = [
        (ThrottleScope.ACCOUNT, b"k", WINDOW),
        (ThrottleScope.IP, b"ip", WINDOW),
        (ThrottleScope.CLIENT, b"nobody", WINDOW),
        (ThrottleScope.STREAK, b"k", long_window),
    ]

    answers = store.states(windows)

    expected = [store.state(scope=scope, key=key, window=window) for scope, key, window in windows]
    counts = [(a.count, a.since_last is None) for a in answers]
    assert counts == [(3, False), (1, False), (0, True), (1, False)]
    for answer, single in zip(answers, expected, strict=True):
        assert answer.count == single.count
        assert answer.reopens_in == pytest.approx(single.reopens_in, abs=1.0)
        assert (answer.since_last is None) == (single.since_last is None)


def test_the_database_store_reads_every_window_in_one_query_unless_one_is_full(
    session: Session, clock: FrozenClock
) -> None:
    store = DatabaseFailureStore(session=session, clock=clock)
    store.add(scope=ThrottleScope.ACCOUNT, key=b"k", window=WINDOW)
    session.flush()
    statements: list[str] = []
    bind = session.get_bind()

    def count(conn: object, handle: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", count)
    try:
        store.states([(ThrottleScope.ACCOUNT, b"k", WINDOW), (ThrottleScope.STREAK, b"k", WINDOW)])
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(statements) == 1


# Failed client authentications ---------------------------------------------------------------------


@pytest.mark.parametrize("store", ["database", "redis"])
def test_twenty_wrong_client_secrets_from_one_address_block_that_address_only_until_the_window_slides(
    store: str, throttle_for: MakeThrottle, clock: FrozenClock, request: pytest.FixtureRequest
) -> None:
    throttle = (
        throttle_for()
        if store == "database"
        else redis_throttle(request.getfixturevalue("redis_prefix"), DEFAULTS)
    )
    for _ in range(DEFAULTS.client_auth_per_peer.limit):
        throttle.check_client_authentication(peer=IP)
        throttle.record_client_authentication_failure(peer=IP)

    with pytest.raises(TooManyAttempts) as refused:
        throttle.check_client_authentication(peer=IP)
    assert 0 < seconds_to_wait(refused.value) <= DEFAULTS.client_auth_per_peer.seconds
    throttle.check_client_authentication(peer="198.51.100.9")  # another address is not held back
    throttle.check(account_key=ACCOUNT, ip=IP, client_id=CLIENT)  # nor logins from the same address
    if store == "database":  # the Redis store's windows follow the wall clock, not the frozen one
        clock.advance(timedelta(seconds=DEFAULTS.client_auth_per_peer.seconds + 1))
        throttle.check_client_authentication(peer=IP)


def test_a_caller_without_an_address_is_neither_counted_nor_held_back(throttle: LoginThrottle) -> None:
    for _ in range(DEFAULTS.client_auth_per_peer.limit + 5):
        throttle.record_client_authentication_failure(peer=None)
    throttle.check_client_authentication(peer=None)
    throttle.check_client_authentication(peer="")
