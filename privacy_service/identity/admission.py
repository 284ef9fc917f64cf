"""Admission of logins before any work: a place in the password pool, or a refusal at once.

Every login costs one argon2 verification, known email or not, so a flood of
logins fills the password pool (``identity.hashing_pool``) and the pool must
refuse what it could not start within its wait budget (503, with the queue's
expected wait as Retry-After; an ordinary burst queues). The HTTP edge asks here first, before
the request's body is parsed, a thread is taken or the database is touched, so
a refusal costs next to nothing (DESIGN.md "Concurrency").

Refusing alone would not be fair: under a flood a freed place is retaken at
once by whichever request arrives next, so a shop that waits as Retry-After
tells it, for its customer, would be refused every time by callers that do not
wait. So a refusal is remembered (a keyed digest of the caller's credentials,
the email and the end-user IP: never the values), and the same login coming
back once its Retry-After has passed is admitted into the places the pool
keeps in reserve. Coming back early starts the wait again, so a caller that
hammers never reaches the reserve. And one email reaches the reserve at most
once per Retry-After: a botnet that hammers one account from many addresses
comes back "on time" by chance now and then (each address is a new caller),
and would otherwise hold the reserve that other customers wait for.

What it does not do: look anything up. Whether the email belongs to an
account plays no part (the same refusals whatever it names), and the login
admitted still goes through the client's token, the throttle and argon2 like
any other. A caller that waits as told competes for the reserve with every
other such caller; the reserve only stops callers who do not wait from
taking every place.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from privacy_service.core.clock import Clock
from privacy_service.crypto import KeyedDigest, generate_key
from privacy_service.identity.hashing_pool import HashingBusy, PasswordWorkPool, PoolPlace

#: Refusals remembered at most (the oldest are forgotten first): about 10 MiB.
REMEMBERED_REFUSALS = 65_536
_DIGEST_LABEL = b"privacy-service/login-admission/v1\x00"


class LoginAdmission:
    """Gives a login a place in the password pool, or refuses it with ``HashingBusy``; never blocks.

    One per process, called from the event loop: each call takes a lock for a
    few dictionary operations and does no I/O. Time is the injected clock's.
    ``retry_after_seconds`` is the shortest Retry-After of a refusal (the
    pool's expected wait when longer) and how often one email may reach the
    reserve.
    """

    def __init__(
        self,
        *,
        pool: PasswordWorkPool,
        clock: Clock,
        retry_after_seconds: int = 1,
        promise_seconds: float = 30.0,
        remembered: int = REMEMBERED_REFUSALS,
    ) -> None:
        if retry_after_seconds < 1 or promise_seconds <= 0 or remembered < 1:
            raise ValueError("retry_after_seconds, promise_seconds and remembered must be positive")
        self.pool = pool
        self.retry_after_seconds = retry_after_seconds
        self.promise_seconds = promise_seconds
        self._promise = timedelta(seconds=promise_seconds)
        self._remembered = remembered
        self._clock = clock
        # A key of this process's own: the digests mean nothing elsewhere, and nothing keeps them.
        self._digests = KeyedDigest(key=generate_key(), label=_DIGEST_LABEL)
        self._refused: OrderedDict[bytes, datetime] = OrderedDict()  # digest -> when it may come back
        self._reserve_used: OrderedDict[bytes, datetime] = OrderedDict()  # email digest -> when, last
        self._lock = threading.Lock()

    def admit(self) -> PoolPlace | None:
        """An ordinary place, or None when the next login would wait longer than the pool's budget."""
        try:
            return self.pool.reserve()
        except HashingBusy:
            return None

    def admit_returning(self, *, caller: bytes, email: str | None, ip: str | None) -> PoolPlace:
        """A reserved place for a login refused earlier that came back after its Retry-After.

        Otherwise raises ``HashingBusy`` with that Retry-After and remembers the
        refusal. ``caller`` is the client's credentials as sent (the
        Authorization header); ``email`` and ``ip`` are the login's, None when
        the body could not be read (then nothing is remembered: it would be
        refused as invalid anyway).
        """
        retry_after = max(self.retry_after_seconds, self.pool.retry_after())
        if email is None:
            raise HashingBusy(retry_after=retry_after)
        digest = self._digest(caller, email, ip or "")
        now = self._clock.now()
        once_per = timedelta(seconds=self.retry_after_seconds)
        with self._lock:
            comes_back_at = self._refused.get(digest)
            if comes_back_at is not None and comes_back_at <= now <= comes_back_at + self._promise:
                account = self._digest(email)  # only for a login that came back: a flood's refusals skip it
                used_at = self._reserve_used.get(account)
                if used_at is not None and now < used_at + once_per:
                    raise HashingBusy(retry_after=self.retry_after_seconds)  # the promise waits, as below
                place = self.pool.reserve(priority=True)  # HashingBusy: keep the promise for the next try
                del self._refused[digest]
                _remember(self._reserve_used, account, now, self._remembered)
                return place
            _remember(self._refused, digest, now + timedelta(seconds=retry_after), self._remembered)
        raise HashingBusy(retry_after=retry_after)

    @property
    def remembered(self) -> int:
        """Refusals currently remembered (for tests and metrics)."""
        with self._lock:
            return len(self._refused)

    def _digest(self, *parts: bytes | str) -> bytes:
        # 128 bits tell 65,536 remembered callers apart with room to spare, in half the memory.
        return self._digests.digest_parts(*parts)[:16]

    def __repr__(self) -> str:
        return f"LoginAdmission(pool={self.pool!r}, retry_after_seconds={self.retry_after_seconds})"


def _remember(entries: OrderedDict[bytes, datetime], key: bytes, value: datetime, limit: int) -> None:
    """Set ``key`` as the newest entry, forgetting the oldest beyond ``limit``; the caller holds the lock."""
    entries[key] = value
    entries.move_to_end(key)
    while len(entries) > limit:
        entries.popitem(last=False)
