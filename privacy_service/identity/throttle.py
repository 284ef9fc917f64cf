"""Failed-login throttling per account, end-user IP and client, with growing delays (on by default).

Anti-automation against guessing and credential stuffing (OWASP ASVS 4.0.3
2.2.1), and rate limiting as NIST SP 800-63B §5.2.2 asks: no more than 100
failed attempts on one account. What it promises:

- **Checked before the password.** ``check`` runs before the password is
  verified and refuses with ``TooManyAttempts(retry_after=...)`` (429 +
  Retry-After), so a correct password does not get past an active throttle.
- **Windows, never flags.** Each limit counts failures in a sliding window
  (API.md: per account 10 in 15 minutes, per end-user IP 50, per client 1,000)
  and every delay is capped, so whatever an attacker does, a customer's
  account opens again by itself: there is no permanent lock-out to abuse.
- **Growing delays.** Once an account has ``free_failures`` failures in its
  streak (those of the last ``streak_seconds`` since its last successful
  login), each next attempt waits 1, 2, 4, 8 ... seconds after the last
  failure, up to ``max_delay_seconds``.
- **At most 100 failures an hour on one account.** A sliding window of L
  failures per W seconds lets through at most L * ceil(3600 / W) in any hour
  (10 * 4 = 40 by default); ``ThrottleLimits`` refuses settings above 100.
- **One attempt at a time per account.** ``check`` holds the account until
  the attempt's outcome is recorded, so a burst of concurrent guesses cannot
  all pass one check before any failure is counted, which would break the
  bound above.
- **No personal data in the failure log.** Accounts, IPs and clients are
  stored as HMAC-SHA256 digests under ``digest_key``.

A successful login clears the account's delay streak but not its window: the
window counts failures whatever happens in between, so a customer's own
logins never refill an attacker's allowance of guesses.

Counters live in a ``FailureStore``: the database by default (rows in the
login's own unit of work, timed by the injected clock), or Redis through the
``limits`` library when ``PRIVACY_RATE_LIMIT_URL`` is set, so that every
service process shares them.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

import redis
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import CursorResult, Select, and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from privacy_service.core.clock import Clock
from privacy_service.core.db import run_core, upsert_insert
from privacy_service.core.errors import Unavailable
from privacy_service.core.types import UTCDateTime
from privacy_service.crypto import InvalidKeyMaterial, KeyedDigest
from privacy_service.identity.errors import TooManyAttempts
from privacy_service.identity.models import LoginFailure, LoginHold
from privacy_service.work import Work

_DIGEST_LABEL = b"privacy-service/login-throttle/v1\x00"
_DIGEST_KEY_SIZE = 32
_HOUR = 3600
_NIST_MAX_FAILURES_PER_HOUR = 100  # NIST SP 800-63B §5.2.2


class ThrottleScope(StrEnum):
    """What a failure is counted against; stored in ``LoginFailure.scope``."""

    ACCOUNT = "account"  # the account's sliding window
    CLIENT = "client"
    CLIENT_AUTH = "client_auth"  # failed client authentications, by the caller's network address
    IP = "ip"
    STREAK = "streak"  # the account's failures since its last success: the growing delay


@dataclass(frozen=True)
class Window:
    """At most ``limit`` failures in any sliding window of ``seconds``."""

    limit: int
    seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds < 1:
            raise ValueError("a throttle window needs a limit and a length of at least 1")


@dataclass(frozen=True)
class WindowState:
    """What a store knows of one (scope, key) in its window.

    ``count`` failures are in the window (the Redis store stops counting at the
    window's limit); ``reopens_in`` seconds remain until fewer than the limit
    are (0 when already fewer); ``since_last`` is the age in seconds of the
    newest failure in the window, None when there is none.
    """

    count: int
    reopens_in: float
    since_last: float | None


class FailureStore(Protocol):
    """Where failed logins are counted: the database or Redis. Keys arrive already digested."""

    def add(self, *, scope: ThrottleScope, key: bytes, window: Window) -> None:
        """Count one failure now."""
        ...

    def state(self, *, scope: ThrottleScope, key: bytes, window: Window) -> WindowState:
        """The failures of ``(scope, key)`` in the window ending now."""
        ...

    def states(self, windows: Sequence[tuple[ThrottleScope, bytes, Window]]) -> list[WindowState]:
        """``state`` of each ``(scope, key, window)``, in order; the database answers in one query."""
        ...

    def clear(self, *, scope: ThrottleScope, key: bytes, window: Window) -> None:
        """Forget every failure of ``(scope, key)``."""
        ...

    def hold(self, *, key: bytes, seconds: float) -> bool:
        """Hold the account ``key`` for one attempt; False while another attempt holds it.

        A hold ends with ``release`` or after ``seconds`` at the latest, so a
        crashed attempt never holds an account for longer.
        """
        ...

    def release(self, *, key: bytes) -> None:
        """End the hold on the account ``key``."""
        ...


@dataclass(frozen=True)
class ThrottleLimits:
    """The limits and delays; ``default()`` gives those of API.md."""

    per_account: Window
    per_ip: Window
    per_client: Window
    free_failures: int  # failures of a streak that cost no delay
    first_delay_seconds: int
    max_delay_seconds: int
    streak_seconds: int  # how long a failure counts in the account's streak (a success ends it sooner)
    hold_seconds: float  # the longest one attempt may hold its account (longer than a hash can take)
    client_auth_per_peer: Window  # wrong client credentials from one network address

    @classmethod
    def default(cls) -> ThrottleLimits:
        return cls(
            per_account=Window(limit=10, seconds=900),
            per_ip=Window(limit=50, seconds=900),
            per_client=Window(limit=1000, seconds=900),
            free_failures=3,
            first_delay_seconds=1,
            max_delay_seconds=900,
            streak_seconds=3600,
            hold_seconds=15.0,
            client_auth_per_peer=Window(limit=20, seconds=900),
        )

    def __post_init__(self) -> None:
        if self.free_failures < 1:
            raise ValueError("free_failures must be at least 1")
        if not 1 <= self.first_delay_seconds <= self.max_delay_seconds:
            raise ValueError("delays must satisfy 1 <= first_delay_seconds <= max_delay_seconds")
        if self.streak_seconds < 1 or self.hold_seconds <= 0:
            raise ValueError("streak_seconds and hold_seconds must be positive")
        if self.failures_per_hour_at_most > _NIST_MAX_FAILURES_PER_HOUR:
            raise ValueError(
                "the account window allows more than 100 failures an hour (NIST SP 800-63B §5.2.2)"
            )

    @property
    def failures_per_hour_at_most(self) -> int:
        """The most failures the account window lets through in any hour: L * ceil(3600 / W).

        Split any hour into ceil(3600 / W) spans shorter than W; each failure of a
        span was allowed with the earlier ones of its span in its window, so
        no span holds more than L.
        """
        return self.per_account.limit * math.ceil(_HOUR / self.per_account.seconds)

    @property
    def _doublings(self) -> int:
        """How many doublings of the first delay reach the longest."""
        return (math.ceil(self.max_delay_seconds / self.first_delay_seconds) - 1).bit_length()

    @property
    def streak(self) -> Window:
        """The streak's window; counting past its limit would not change the (capped) delay."""
        return Window(limit=self.free_failures + self._doublings + 1, seconds=self.streak_seconds)

    def delay_after(self, failures: int) -> int:
        """Seconds the next attempt must wait after the last failure of a streak of ``failures``."""
        if failures < self.free_failures:
            return 0
        doublings = min(failures - self.free_failures, self._doublings)
        return min(self.max_delay_seconds, self.first_delay_seconds << doublings)

    @property
    def longest_window_seconds(self) -> int:
        """After this long, a failure counts in no window any more."""
        return max(
            self.per_account.seconds,
            self.per_ip.seconds,
            self.per_client.seconds,
            self.streak_seconds,
            self.client_auth_per_peer.seconds,
        )


@dataclass(frozen=True)
class _Keys:
    account: bytes
    ip: bytes | None
    client: bytes | None  # None when the caller counts no client's window


class LoginThrottle:
    """Counts failed logins and refuses attempts over a limit, before their password is checked.

    One login calls ``check`` first, then exactly one of ``record_failure``,
    ``record_success`` or (when it ends any other way, say the hashing pool
    was busy) ``abandon``. ``account_key`` is opaque: the user's id, or the
    email's blind index when no account has it, so an unknown email is
    throttled like a known one.
    """

    def __init__(
        self, *, store: FailureStore, digest_key: bytes, limits: ThrottleLimits | None = None
    ) -> None:
        if len(digest_key) != _DIGEST_KEY_SIZE:
            raise InvalidKeyMaterial(f"the throttle's digest key must be {_DIGEST_KEY_SIZE} bytes")
        self.limits = limits or ThrottleLimits.default()
        self._store = store
        self._digests = KeyedDigest(key=digest_key, label=_DIGEST_LABEL)

    def check(self, *, account_key: bytes, ip: str | None, client_id: str | None) -> int:
        """Raise ``TooManyAttempts`` with the longest wait that applies; otherwise hold the account.

        ``ip`` is the end user's (``context.ip``), to be trusted only from an
        authenticated client; without it, only the account and client count.
        ``client_id`` None counts no client's window: the caller's policy
        (``login.LoginAttempt.client_bucket``: the service's own pages count
        per account and address only). Returns the failures in the account's
        streak, for ``record_success``.
        """
        keys = self._keys(account_key=account_key, ip=ip, client_id=client_id)
        if not self._store.hold(key=keys.account, seconds=self.limits.hold_seconds):
            raise TooManyAttempts(retry_after=1)  # another attempt on this account is being verified
        windows = [*self._windows(keys), (ThrottleScope.STREAK, keys.account, self.limits.streak)]
        *states, streak = self._store.states(windows)
        wait = max(*(state.reopens_in for state in states), self._delay_of(streak))
        if wait > 0:
            self._store.release(key=keys.account)
            raise TooManyAttempts(retry_after=math.ceil(wait))
        return streak.count

    def record_failure(self, *, account_key: bytes, ip: str | None, client_id: str | None) -> None:
        """Count a wrong password against the account, the IP and the client (each when given)."""
        keys = self._keys(account_key=account_key, ip=ip, client_id=client_id)
        for scope, key, window in self._windows(keys):
            self._store.add(scope=scope, key=key, window=window)
        self._store.add(scope=ThrottleScope.STREAK, key=keys.account, window=self.limits.streak)
        self._store.release(key=keys.account)

    def record_success(self, *, account_key: bytes, streak: int | None = None) -> None:
        """End the account's streak of failures (its delay), not its window.

        ``streak`` is what ``check`` returned: when it was 0 there is nothing to
        clear (a failure recorded since by a concurrent attempt stays counted,
        which errs on the safe side) and the store is spared a write.
        """
        account = self._digest(ThrottleScope.ACCOUNT, account_key)
        if streak != 0:
            self._store.clear(scope=ThrottleScope.STREAK, key=account, window=self.limits.streak)
        self._store.release(key=account)

    def abandon(self, *, account_key: bytes) -> None:
        """End an attempt that was neither a failure nor a success, counting nothing."""
        self._store.release(key=self._digest(ThrottleScope.ACCOUNT, account_key))

    def check_client_authentication(self, *, peer: str | None) -> None:
        """Raise ``TooManyAttempts`` while ``peer`` (the caller's network address) has too many
        failed client authentications in its window; a caller with no address is not counted.

        Counted by the address that sent the credentials, never by the client id
        they name: client ids are not secret, and a count per id would let anyone
        lock a shop out of its own tokens. A client secret is 256 random bits,
        so this bounds the noise of wrong or stale secrets more than guessing.
        """
        if not peer:
            return
        key = self._digest(ThrottleScope.CLIENT_AUTH, _network_of(peer).encode())
        state = self._store.state(
            scope=ThrottleScope.CLIENT_AUTH, key=key, window=self.limits.client_auth_per_peer
        )
        if state.reopens_in > 0:
            raise TooManyAttempts(retry_after=math.ceil(state.reopens_in))

    def record_client_authentication_failure(self, *, peer: str | None) -> None:
        """Count wrong client credentials against ``peer``'s window."""
        if not peer:
            return
        key = self._digest(ThrottleScope.CLIENT_AUTH, _network_of(peer).encode())
        self._store.add(scope=ThrottleScope.CLIENT_AUTH, key=key, window=self.limits.client_auth_per_peer)

    def _delay_of(self, streak: WindowState) -> float:
        delay = self.limits.delay_after(streak.count)
        if delay == 0 or streak.since_last is None:
            return 0.0
        return delay - streak.since_last

    def _windows(self, keys: _Keys) -> Iterator[tuple[ThrottleScope, bytes, Window]]:
        yield ThrottleScope.ACCOUNT, keys.account, self.limits.per_account
        if keys.ip is not None:
            yield ThrottleScope.IP, keys.ip, self.limits.per_ip
        if keys.client is not None:
            yield ThrottleScope.CLIENT, keys.client, self.limits.per_client

    def _keys(self, *, account_key: bytes, ip: str | None, client_id: str | None) -> _Keys:
        """The login's keys: the account's, and the address's and the client's when given."""
        ip = (ip or "").strip()  # an empty context.ip is no IP
        return _Keys(
            account=self._digest(ThrottleScope.ACCOUNT, account_key),
            ip=self._digest(ThrottleScope.IP, _network_of(ip).encode()) if ip else None,
            client=None if client_id is None else self._digest(ThrottleScope.CLIENT, client_id.encode()),
        )

    def _digest(self, scope: ThrottleScope, value: bytes) -> bytes:
        """HMAC-SHA256 of the scope and the value: the same id counted as account and client differs."""
        return self._digests.digest(scope.encode() + b"\x00" + value)

    def __repr__(self) -> str:
        return f"LoginThrottle(store={type(self._store).__name__}, limits={self.limits!r})"


def _network_of(ip: str) -> str:
    """The unit an IP limit counts: an IPv4 address, or the /64 that one IPv6 host is given.

    A single IPv6 host commonly holds a whole /64 (RFC 6177), so counting its
    addresses one by one would let it rotate past the limit. An IPv4-mapped
    IPv6 address counts as its IPv4 address. Text that is not an address
    (the shop vouches for ``context.ip``) is counted as it is.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class DatabaseFailureStore:
    """Failures as ``LoginFailure`` rows in the login's own unit of work; one store per unit of work.

    A failure is written in the same transaction as the login's audit event,
    which commits although the login is refused (``InvalidCredentials``
    keeps its changes). Time is the injected clock's.
    """

    def __init__(self, *, session: Session, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    def add(self, *, scope: ThrottleScope, key: bytes, window: Window) -> None:
        self._session.add(LoginFailure(scope=scope.value, key=key, at=self._clock.now()))

    def state(self, *, scope: ThrottleScope, key: bytes, window: Window) -> WindowState:
        now = self._clock.now()
        length = timedelta(seconds=window.seconds)
        # Equality on (scope, key) and a range on ``at``: one range scan of ix_login_failures_scope_key_at.
        in_window = (
            LoginFailure.scope == scope.value,
            LoginFailure.key == key,
            LoginFailure.at > now - length,
        )
        count, newest = self._session.execute(
            select(func.count(), func.max(LoginFailure.at)).where(*in_window)
        ).one()
        if newest is None:
            return WindowState(count=0, reopens_in=0.0, since_last=None)
        reopens_in = 0.0
        if count >= window.limit:
            # Fewer than ``limit`` remain once the (count - limit + 1)-th oldest failure has left the window.
            leaving = self._session.scalars(
                select(LoginFailure.at)
                .where(*in_window)
                .order_by(LoginFailure.at)
                .offset(count - window.limit)
                .limit(1)
            ).one()
            reopens_in = (leaving + length - now).total_seconds()
        return WindowState(count=count, reopens_in=reopens_in, since_last=(now - newest).total_seconds())

    def states(self, windows: Sequence[tuple[ThrottleScope, bytes, Window]]) -> list[WindowState]:
        """One grouped query for every window (each with its own length); a full one costs one more."""
        now = self._clock.now()
        parameters: dict[str, object] = {}
        for index, (scope, key, window) in enumerate(windows):
            parameters[f"scope_{index}"] = scope.value
            parameters[f"key_{index}"] = key
            parameters[f"since_{index}"] = now - timedelta(seconds=window.seconds)
        rows = run_core(self._session, _states_query(len(windows)), parameters).all()
        found = {(scope, bytes(key)): (count, newest) for scope, key, count, newest in rows}
        answers = []
        for scope, key, window in windows:
            count, newest = found.get((scope.value, key), (0, None))
            if newest is not None and count >= window.limit:
                answers.append(self.state(scope=scope, key=key, window=window))  # rare: when it reopens
            elif newest is None:
                answers.append(WindowState(count=0, reopens_in=0.0, since_last=None))
            else:
                answers.append(
                    WindowState(count=count, reopens_in=0.0, since_last=(now - newest).total_seconds())
                )
        return answers

    def clear(self, *, scope: ThrottleScope, key: bytes, window: Window) -> None:
        self._session.execute(
            delete(LoginFailure).where(LoginFailure.scope == scope.value, LoginFailure.key == key)
        )

    def hold(self, *, key: bytes, seconds: float) -> bool:
        # A row, not a lock: it must outlive the check's unit of work, which ends before the password
        # is verified, and last until the outcome's unit of work releases it. One statement takes it
        # when it is free or expired; a concurrent hold waits on the row's unique key, then finds it held.
        now = self._clock.now()
        statement = _hold_statement(self._session.get_bind().dialect.name)
        held = run_core(
            self._session, statement, {"key": key, "now": now, "until": now + timedelta(seconds=seconds)}
        )
        return held.first() is not None

    def release(self, *, key: bytes) -> None:
        # Core on the session's connection: through ``Session.execute`` an ORM-enabled DELETE cost a
        # tenth of the Python time a PostgreSQL login holds the interpreter lock for (py-spy --gil).
        self._session.connection().execute(_RELEASE_HOLD, {"key": key})


@functools.cache
def _hold_statement(dialect: str) -> ReturningInsert[bytes]:
    """Insert the hold, or take over an expired one; returns the key only when the hold was taken."""
    statement = upsert_insert(dialect, LoginHold).values(key=bindparam("key"), expires_at=bindparam("until"))
    return statement.on_conflict_do_update(
        index_elements=[LoginHold.key],
        set_={"expires_at": statement.excluded.expires_at},
        where=LoginHold.expires_at <= bindparam("now", type_=UTCDateTime()),  # held, but expired
    ).returning(LoginHold.key)


_RELEASE_HOLD = delete(LoginHold).where(LoginHold.key == bindparam("key"))


@functools.cache
def _states_query(windows: int) -> Select[str, bytes, int, datetime]:
    """The grouped query of ``DatabaseFailureStore.states`` for so many windows, built once per count.

    Built at each check, it made the check cost 2.5-3x the CPU (``benchmarks/README.md``, "caches.py").
    """
    conditions = [
        and_(
            LoginFailure.scope == bindparam(f"scope_{index}"),
            LoginFailure.key == bindparam(f"key_{index}"),
            LoginFailure.at > bindparam(f"since_{index}"),
        )
        for index in range(windows)
    ]
    return (
        select(LoginFailure.scope, LoginFailure.key, func.count(), func.max(LoginFailure.at))
        .where(or_(*conditions))
        .group_by(LoginFailure.scope, LoginFailure.key)
    )


def purge_expired(work: Work, *, limits: ThrottleLimits | None = None) -> int:
    """Delete the failures that no window counts any more, and the holds that attempts which died left
    behind and that have expired; return how many rows. For the background worker."""
    limits = limits or ThrottleLimits.default()
    now = work.clock.now()
    cutoff = now - timedelta(seconds=limits.longest_window_seconds)
    purged = 0
    for stale in (
        delete(LoginFailure).where(LoginFailure.at <= cutoff),
        delete(LoginHold).where(LoginHold.expires_at <= now),
    ):
        result = work.session.execute(stale)
        assert isinstance(result, CursorResult)
        purged += result.rowcount
    return purged


class RedisFailureStore:
    """Failures in Redis, shared by every service process; one store per process, safe across threads.

    Windows are ``limits`` moving windows (a list of timestamps per key, which
    expires by itself); the newest failure's time and the account holds are
    two small keys of our own with an expiry. Time is the processes' wall
    clock (``limits`` stamps entries with ``time.time()``), so the service
    hosts' clocks must agree (NTP); it is not the injected clock: moving a
    FrozenClock does not move these windows. Redis being
    unreachable raises ``Unavailable`` (503): the throttle fails closed.
    """

    def __init__(
        self, *, url: str, key_prefix: str = "privacy-service:login-throttle", timeout_seconds: float = 2.0
    ) -> None:
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_seconds, socket_timeout=timeout_seconds
        )
        storage = RedisStorage(url, connection_pool=self._redis.connection_pool, key_prefix=key_prefix)
        self._limiter = MovingWindowRateLimiter(storage)
        self._prefix = key_prefix

    def add(self, *, scope: ThrottleScope, key: bytes, window: Window) -> None:
        with _redis_reachable():
            # A full window refuses the hit: it already holds ``limit`` failures, all that is counted.
            self._limiter.hit(_rate_limit_item(window), scope.value, key.hex())
            self._redis.set(self._last_key(scope, key), repr(time.time()), ex=window.seconds)

    def state(self, *, scope: ThrottleScope, key: bytes, window: Window) -> WindowState:
        with _redis_reachable():
            stats = self._limiter.get_window_stats(_rate_limit_item(window), scope.value, key.hex())
            last: bytes | str | None = self._redis.get(self._last_key(scope, key))
        now = time.time()
        count = window.limit - stats.remaining
        if count == 0 or last is None:
            return WindowState(count=count, reopens_in=0.0, since_last=None)
        reopens_in = max(0.0, stats.reset_time - now) if count >= window.limit else 0.0
        return WindowState(count=count, reopens_in=reopens_in, since_last=max(0.0, now - float(last)))

    def states(self, windows: Sequence[tuple[ThrottleScope, bytes, Window]]) -> list[WindowState]:
        return [self.state(scope=scope, key=key, window=window) for scope, key, window in windows]

    def clear(self, *, scope: ThrottleScope, key: bytes, window: Window) -> None:
        with _redis_reachable():
            self._limiter.clear(_rate_limit_item(window), scope.value, key.hex())
            self._redis.delete(self._last_key(scope, key))

    def hold(self, *, key: bytes, seconds: float) -> bool:
        with _redis_reachable():
            return bool(self._redis.set(self._hold_key(key), b"1", nx=True, px=math.ceil(seconds * 1000)))

    def release(self, *, key: bytes) -> None:
        with _redis_reachable():
            self._redis.delete(self._hold_key(key))

    def _last_key(self, scope: ThrottleScope, key: bytes) -> str:
        return f"{self._prefix}:last:{scope.value}:{key.hex()}"

    def _hold_key(self, key: bytes) -> str:
        return f"{self._prefix}:hold:{key.hex()}"

    def __repr__(self) -> str:
        return f"RedisFailureStore(key_prefix={self._prefix!r})"


def _rate_limit_item(window: Window) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(window.limit, window.seconds, namespace="login-failures")


@contextmanager
def _redis_reachable() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as error:
        raise Unavailable("The rate-limit store cannot be reached") from error
