"""Delegated login: a shop forwards a customer's email and password; tokens or a second-factor step come back.

The caller says what success grants (``Grant``): a shop receives an access token
and a refresh token of the new session; the service's own pages only the
session, which a browser session then holds by a cookie, so no token is signed
or stored that nobody would receive. It also says whether failures count
against its client's window in the throttle (``LoginAttempt.client_bucket``).

The flow runs in three steps so that no database transaction (nor a pooled
connection, nor SQLite's write lock) is held while argon2 runs:

1. look up the account and ask the throttle (a throttled attempt is refused
   before any password work, so even a correct password does not get past it);
2. verify the password in the bounded pool, outside any transaction (an
   unknown email costs the same argon2 work as a known one);
3. record the outcome: the failure count and refusal, or the session (and its
   tokens) or MFA challenge, in one unit of work that commits even when it refuses.

From step 1 to step 3 the account stays held (``LoginThrottle.check``,
a ``login_holds`` row or a Redis key): a concurrent guess on it is refused
with 429 and ``Retry-After: 1`` until the outcome is recorded, or until the
hold expires should the process die in between. So guesses cannot all pass
one check before any failure is counted, however many processes serve, and
the throttle's per-account bound holds.

Each step is a function of its own (``begin_login``, ``check_password``,
``finish_login``, and ``abandon_login`` when step 2 fails): ``login`` runs
them in the calling thread, and ``login_awaiting_the_pool`` runs steps 1 and
3 in worker threads and awaits step 2 without one, so logins queued for
argon2 do not take every thread of an HTTP server (DESIGN.md "Concurrency").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from anyio import CancelScope, to_thread
from sqlalchemy import select, update

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, Party, PartyType, client_party, user_party
from privacy_service.crypto import InvalidPassword
from privacy_service.crypto.opaque_tokens import new_opaque_token
from privacy_service.identity import mfa
from privacy_service.identity.accounts import LoginAccount, Passwords, find_login_account, roles_of
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import InvalidCode, InvalidCredentials, InvalidMfaToken
from privacy_service.identity.hashing_pool import PoolPlace
from privacy_service.identity.models import MfaChallenge, User
from privacy_service.identity.password_rules import is_blocklisted
from privacy_service.identity.scopes import AuthMethod, Role
from privacy_service.identity.sessions import open_session, start_session
from privacy_service.work import Work, Workplace

MFA_TOKEN_KIND = "mfa-token"  # noqa: S105 - a label, not a token
MAX_MFA_FAILURES = 5


class Grant(StrEnum):
    """What a successful login hands its caller."""

    SESSION = "session"  # the session alone, no token signed or stored: the pages hold it by a browser cookie
    TOKENS = "tokens"  # the session's access token and first refresh token, as a shop receives them


@dataclass(frozen=True)
class TokenPair:
    """What a login grants: an access token and a refresh token of the session ``session_id``."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    session_id: str
    token_type: str = "Bearer"  # noqa: S105 - RFC 6750 token type


@dataclass(frozen=True)
class Granted:
    """A completed login: whose, the session it opened, and that session's tokens when ``Grant.TOKENS``."""

    user_id: str
    session_id: str
    tokens: TokenPair | None


@dataclass(frozen=True)
class LoginResult:
    """What was granted, or an MFA token to complete with a second factor; and whether the password must
    change."""

    granted: Granted | None
    mfa_token: str | None
    password_change_required: bool
    user_id: str


@dataclass(frozen=True)
class LoginAttempt:
    """One login's credentials and context, and what its caller asks of it.

    ``grant`` is what success hands back. ``client_bucket`` says whether failures also count against
    the client's own window (``LoginThrottle``): a shop's logins do. The service's own pages, one
    client for every visitor, count per account and per address (which they see themselves) only:
    guesses spread over many addresses would otherwise fill that one window and refuse every
    customer's sign-in on the pages.
    """

    email: str
    password: str
    client_id: str
    ip: str | None = None
    user_agent: str | None = None
    grant: Grant = Grant.TOKENS
    client_bucket: bool = True

    @property
    def throttled_client(self) -> str | None:
        """The client whose window the throttle counts; None for no client's window."""
        return self.client_id if self.client_bucket else None


@dataclass(frozen=True)
class PendingLogin:
    """Step 1's outcome: the account (None: an unknown email), held until step 3 or ``abandon_login``."""

    attempt: LoginAttempt
    account: LoginAccount | None
    account_key: bytes
    streak: int


@dataclass(frozen=True)
class PasswordChecked:
    """Step 2's outcome: whether the password matched, and the new peppered hash when the old was outdated."""

    verified: bool
    rehashed: bytes | None = None


def login(
    *, workplace: Workplace, credentials: Credentials, attempt: LoginAttempt, place: PoolPlace | None = None
) -> LoginResult:
    """Check a customer's password on behalf of a shop; raises InvalidCredentials, TooManyAttempts or 503.

    ``place`` is the password pool's place the HTTP edge took for this login
    (``identity.admission``); without one, a place is taken when the password
    is checked. The calling thread waits for the pool; a caller in an event
    loop uses ``login_awaiting_the_pool``.
    """
    pending = begin_login(workplace=workplace, credentials=credentials, attempt=attempt)
    try:
        checked = credentials.passwords.pool.run(check_password, credentials.passwords, pending, place=place)
    except Exception:
        abandon_login(workplace=workplace, credentials=credentials, pending=pending)
        raise
    return finish_login(workplace=workplace, credentials=credentials, pending=pending, checked=checked)


async def login_awaiting_the_pool(
    *,
    workplace: Workplace,
    credentials: Credentials,
    attempt: Callable[[], LoginAttempt],
    place: PoolPlace | None = None,
) -> LoginResult:
    """``login`` for a caller in an event loop: no thread is held while the password waits for the pool.

    Steps 1 and 3 run in a worker thread each (``attempt`` is called in the
    first, so the caller can check its client there); step 2 is awaited. So
    dozens of logins queued for argon2 hold no thread, and the server's other
    routes keep theirs. Step 2's failure (the pool refused, gave up, or the
    request was cancelled) abandons the hold, as ``login`` does.
    """

    def first_step() -> PendingLogin:
        return begin_login(workplace=workplace, credentials=credentials, attempt=attempt())

    pending = await to_thread.run_sync(first_step)
    try:
        checked = await credentials.passwords.pool.run_async(
            check_password, credentials.passwords, pending, place=place
        )
    except BaseException:
        with CancelScope(shield=True):  # the hold is given back even when the request is cancelled
            await to_thread.run_sync(
                partial(abandon_login, workplace=workplace, credentials=credentials, pending=pending)
            )
        raise
    return await to_thread.run_sync(
        partial(finish_login, workplace=workplace, credentials=credentials, pending=pending, checked=checked)
    )


def begin_login(*, workplace: Workplace, credentials: Credentials, attempt: LoginAttempt) -> PendingLogin:
    """Step 1: who is it, and may they try now? Holds the account; raises TooManyAttempts if not."""
    with workplace.open() as work:
        account = find_login_account(session=work.session, emails=credentials.emails, email=attempt.email)
        account_key = account.id.encode() if account is not None else credentials.emails.digest(attempt.email)
        streak = credentials.throttle(work).check(
            account_key=account_key, ip=attempt.ip, client_id=attempt.throttled_client
        )
    return PendingLogin(attempt=attempt, account=account, account_key=account_key, streak=streak)


def check_password(passwords: Passwords, pending: PendingLogin) -> PasswordChecked:
    """Step 2, one job in the password pool, with no transaction open.

    An unknown email costs the same argon2 work as a known one. The rehash of
    an outdated hash runs in the place the verification had, so a login that
    succeeded cannot be refused for want of a second place.
    """
    account, password = pending.account, pending.attempt.password
    try:
        if account is None:
            passwords.hasher.dummy_verify(password)  # always raises InvalidPassword
        result = passwords.hasher.verify(account.password, password, account_id=account.id)
    except InvalidPassword:
        return PasswordChecked(verified=False)
    if not result.needs_rehash:
        return PasswordChecked(verified=True)
    return PasswordChecked(verified=True, rehashed=passwords.hasher.hash(password, account_id=account.id))


def abandon_login(*, workplace: Workplace, credentials: Credentials, pending: PendingLogin) -> None:
    """Step 2 failed (no outcome to record): give the account's hold back, counting nothing."""
    with workplace.open() as work:
        credentials.throttle(work).abandon(account_key=pending.account_key)


def finish_login(
    *, workplace: Workplace, credentials: Credentials, pending: PendingLogin, checked: PasswordChecked
) -> LoginResult:
    """Step 3: the outcome, with its bookkeeping, in one unit of work; raises InvalidCredentials."""
    attempt, account, account_key = pending.attempt, pending.account, pending.account_key
    rehashed = checked.rehashed
    with workplace.open() as work:
        throttle = credentials.throttle(work)
        shop = client_party(attempt.client_id)
        if not checked.verified or account is None:
            throttle.record_failure(
                account_key=account_key, ip=attempt.ip, client_id=attempt.throttled_client
            )
            # An unknown email is named by no id at all: the trail never holds the address.
            target = (
                user_party(account.id) if account is not None else Party(type=PartyType.USER, id="unknown")
            )
            audit.record(
                work,
                actor=shop,
                action=Action.AUTHN_LOGIN_FAIL,
                target=target,
                outcome=Outcome.FAILURE,
                details={"reason": "invalid_credentials", "ip": attempt.ip} if account is not None else None,
            )
            work.keep_when_refused()  # the failure counts, and its event stands, though the login is refused
            raise InvalidCredentials("The email or password is wrong.")
        throttle.record_success(account_key=account_key, streak=pending.streak)
        audit.record(
            work,
            actor=shop,
            action=Action.AUTHN_LOGIN_SUCCESS,
            target=user_party(account.id),
            outcome=Outcome.SUCCESS,
            details={"factor": "password", "ip": attempt.ip, "upgraded_hash": rehashed is not None},
        )
        if rehashed is not None:
            # argon2id at today's parameters, or upgraded from a legacy hash
            work.session.execute(update(User).where(User.id == account.id).values(password=rehashed))
        change_required = is_blocklisted(attempt.password)
        if account.second_factor:
            token = _open_mfa_challenge(
                work, credentials=credentials, user_id=account.id, client_id=attempt.client_id
            )
            return LoginResult(
                granted=None, mfa_token=token, password_change_required=change_required, user_id=account.id
            )
        granted = grant_session(
            work,
            credentials=credentials,
            user_id=account.id,
            roles=account.roles,
            client_id=attempt.client_id,
            amr=(AuthMethod.PASSWORD,),
            user_agent=attempt.user_agent,
            grant=attempt.grant,
        )
        return LoginResult(
            granted=granted, mfa_token=None, password_change_required=change_required, user_id=account.id
        )


def complete_mfa(
    work: Work,
    *,
    credentials: Credentials,
    client_id: str,
    mfa_token: str,
    code: str,
    ip: str | None = None,
    user_agent: str | None = None,
    grant: Grant = Grant.TOKENS,
    client_bucket: bool = True,
) -> Granted:
    """Finish a login with a TOTP or recovery code; grant its session (``amr`` pwd+otp) as ``grant`` says.

    ``client_bucket`` is ``LoginAttempt.client_bucket``: whether a wrong code also counts against the
    client's window.

    A wrong code counts against the MFA token (``InvalidCode``, committed); the
    token stays usable until it expires or has failed ``MAX_MFA_FAILURES`` times.
    It also counts as a failed login of the account
    (``mfa.verify_second_factor_throttled``), so whoever holds the password
    cannot buy five more guesses with every fresh ``mfa_token``.
    """
    digest = credentials.digests.digest(mfa_token, kind=MFA_TOKEN_KIND)
    challenge = work.session.scalar(select(MfaChallenge).where(MfaChallenge.token_digest == digest))
    now = work.clock.now()
    if (
        challenge is None
        or challenge.client_id != client_id
        or challenge.used_at is not None
        or challenge.expires_at <= now
        or challenge.failed_attempts >= MAX_MFA_FAILURES
    ):
        raise InvalidMfaToken()
    try:
        mfa.verify_second_factor_throttled(
            work,
            recovery=credentials.recovery,
            throttle=credentials.throttle(work),
            user_id=challenge.user_id,
            client_id=client_id if client_bucket else None,
            ip=ip,
            code=code,
        )
    except InvalidCode:
        challenge.failed_attempts += 1
        work.keep_when_refused()  # the wrong code counts against the MFA token, and its event stands
        audit.record(
            work,
            actor=client_party(client_id),
            action=Action.AUTHN_LOGIN_FAIL,
            target=user_party(challenge.user_id),
            outcome=Outcome.FAILURE,
            details={"reason": "invalid_code", "ip": ip},
        )
        raise
    challenge.used_at = now
    audit.record(
        work,
        actor=client_party(client_id),
        action=Action.AUTHN_LOGIN_SUCCESS,
        target=user_party(challenge.user_id),
        outcome=Outcome.SUCCESS,
        details={"factor": "second", "ip": ip},
    )
    user = work.session.get_one(User, challenge.user_id)
    return grant_session(
        work,
        credentials=credentials,
        user_id=user.id,
        roles=roles_of(user),
        client_id=client_id,
        amr=(AuthMethod.PASSWORD, AuthMethod.OTP),
        user_agent=user_agent,
        grant=grant,
    )


def grant_session(
    work: Work,
    *,
    credentials: Credentials,
    user_id: str,
    roles: frozenset[Role],
    client_id: str,
    amr: tuple[AuthMethod, ...],
    user_agent: str | None,
    grant: Grant,
) -> Granted:
    """Open the login's session; with ``Grant.TOKENS``, also its refresh-token family and an access token."""
    if grant is Grant.SESSION:
        opened = open_session(
            work,
            user_id=user_id,
            client_id=client_id,
            amr=amr,
            user_agent=user_agent,
            lifetime=credentials.session_lifetime,
        )
        return Granted(user_id=user_id, session_id=opened.session_id, tokens=None)
    tokens = issue_tokens(
        work,
        credentials=credentials,
        user_id=user_id,
        roles=roles,
        client_id=client_id,
        amr=amr,
        user_agent=user_agent,
    )
    return Granted(user_id=user_id, session_id=tokens.session_id, tokens=tokens)


def issue_tokens(
    work: Work,
    *,
    credentials: Credentials,
    user_id: str,
    roles: frozenset[Role],
    client_id: str,
    amr: tuple[AuthMethod, ...],
    user_agent: str | None,
) -> TokenPair:
    """Open a session (a refresh-token family) and sign its first access token."""
    issued = start_session(
        work,
        digests=credentials.digests,
        user_id=user_id,
        client_id=client_id,
        amr=amr,
        user_agent=user_agent,
        lifetime=credentials.session_lifetime,
    )
    access = credentials.tokens.issue_access_token(
        session=work.session,
        subject=user_id,
        audience=client_id,
        client_id=client_id,
        amr=amr,
        roles=roles,
        session_id=issued.session_id,
    )
    return TokenPair(
        access_token=access,
        refresh_token=issued.refresh_token,
        expires_in=credentials.tokens.access_token_seconds,
        session_id=issued.session_id,
    )


def _open_mfa_challenge(work: Work, *, credentials: Credentials, user_id: str, client_id: str) -> str:
    token = new_opaque_token()
    now = work.clock.now()
    work.session.add(
        MfaChallenge(
            token_digest=credentials.digests.digest(token, kind=MFA_TOKEN_KIND),
            user_id=user_id,
            client_id=client_id,
            failed_attempts=0,
            expires_at=now + credentials.mfa_token_lifetime,
            created_at=now,
        )
    )
    work.session.flush()
    return token
