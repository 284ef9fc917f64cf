"""Login sessions and their refresh tokens (RFC 6749 §6), rotated on every use with reuse detection.

A session is one login: one refresh-token family. Each refresh token is
opaque, 256 random bits, single-use and stored only as a keyed digest
(``crypto.opaque_tokens``: HMAC-SHA256 under a pepper sub-key, so neither a
stolen database nor a planted row yields a usable token). Using a token marks
it used and issues the next one; presenting a used token again means two
parties hold the family, so the whole session is revoked (RFC 9700 §4.14.2).

Tokens are found by their digest, never compared in Python: an attacker
cannot choose a digest, so the lookup leaks nothing a timing comparison
would protect. At the route, ``InvalidToken`` and ``RefreshTokenReused`` from
the refresh grant or RFC 7009 revocation answer OAuth ``invalid_grant``
(RFC 6749 §5.2); the route translates.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, Party, client_party, user_party
from privacy_service.core.errors import NotFound
from privacy_service.core.ids import new_id
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests, new_opaque_token
from privacy_service.identity.errors import InvalidToken, RefreshTokenReused
from privacy_service.identity.models import RefreshToken, UserSession
from privacy_service.identity.scopes import AuthMethod
from privacy_service.keys.fields import SubjectFields
from privacy_service.work import InsertAtCommit, Work

log = logging.getLogger(__name__)

REFRESH_TOKEN_KIND = "refresh-token"  # noqa: S105 - a label, not a token
#: Longest user agent kept: enough to recognise a browser, not a place to store a payload.
USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True)
class OpenedSession:
    """A new session, with no refresh token: it ends at ``expires_at`` or when revoked."""

    session_id: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedRefresh:
    """A new session and its first refresh token, which exists only here and in the client's hands."""

    session_id: str
    refresh_token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class RotatedRefresh:
    """The session a refresh token belonged to, and the token that replaces it."""

    user_session: UserSession
    refresh_token: str = field(repr=False)


@dataclass(frozen=True)
class SessionView:
    """A session as its user sees it (``GET /v1/me/sessions``), the user agent decrypted."""

    id: str
    client_id: str
    amr: tuple[AuthMethod, ...]
    user_agent: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


def open_session(
    work: Work,
    *,
    user_id: str,
    client_id: str,
    amr: Sequence[AuthMethod],
    user_agent: str | None,
    lifetime: timedelta,
) -> OpenedSession:
    """Open a session after a successful login; it ends at ``now + lifetime`` whatever its use.

    No refresh token: what holds the session is its caller's (a browser session's cookie,
    ``identity.browser_sessions``), or the refresh-token family ``start_session`` adds. The user agent
    is personal data: it is encrypted under the user's data key, bound to this table and column, and
    truncated to ``USER_AGENT_MAX_LENGTH``.
    """
    now = work.clock.now()
    fields = _session_fields(work, user_id=user_id)
    session_id, expires_at = new_id(), now + lifetime
    # Not entities: every login writes this row (and ``start_session`` a token referring to it) and reads
    # neither back, and the unit of work's two flushes cost more than the statements. They are sent with
    # the COMMIT, in its round trip on PostgreSQL, as the login's audit event is.
    work.insert_at_commit(
        _INSERT_SESSION,
        {
            "id": session_id,
            "user_id": user_id,
            "client_id": client_id,
            "amr": " ".join(AuthMethod(method).value for method in amr),
            "user_agent": fields.encrypt(
                "user_agent", None if user_agent is None else user_agent[:USER_AGENT_MAX_LENGTH]
            ),
            "created_at": now,
            "last_used_at": now,
            "expires_at": expires_at,
            "revoked_at": None,
        },
    )
    return OpenedSession(session_id=session_id, expires_at=expires_at)


def start_session(
    work: Work,
    *,
    digests: OpaqueTokenDigests,
    user_id: str,
    client_id: str,
    amr: Sequence[AuthMethod],
    user_agent: str | None,
    lifetime: timedelta,
) -> IssuedRefresh:
    """``open_session`` and the first refresh token of its family: a login that grants tokens."""
    opened = open_session(
        work, user_id=user_id, client_id=client_id, amr=amr, user_agent=user_agent, lifetime=lifetime
    )
    token = _issue_refresh_token(work, digests=digests, session_id=opened.session_id, now=work.clock.now())
    return IssuedRefresh(session_id=opened.session_id, refresh_token=token, expires_at=opened.expires_at)


def rotate_refresh_token(
    work: Work, *, digests: OpaqueTokenDigests, client_id: str, refresh_token: str
) -> RotatedRefresh:
    """Spend ``refresh_token`` and return its successor (RFC 6749 §6, RFC 9700 §4.14.2).

    Raises ``InvalidToken`` for an unknown token, one issued to another
    client, or one of a revoked or expired session; ``RefreshTokenReused``
    (after revoking the session, a change that commits although the request
    fails) for a token already spent. Both are ``invalid_grant`` at the route.
    """
    now = work.clock.now()
    # FOR UPDATE on PostgreSQL: two concurrent uses of one token queue here, and
    # the second sees the first's ``used_at`` instead of forking the family.
    # SQLite's BEGIN IMMEDIATE already serialises writers.
    row = work.session.scalar(
        select(RefreshToken)
        .where(RefreshToken.digest == digests.digest(refresh_token, kind=REFRESH_TOKEN_KIND))
        .with_for_update()
    )
    if row is None:
        raise InvalidToken()
    user_session = _usable_session(session=work.session, token=row, client_id=client_id, now=now)
    if row.used_at is not None:
        user_session.revoked_at = now
        work.session.flush()
        log.warning("refresh token reused: session %s revoked", user_session.id)
        audit.record(
            work,
            actor=client_party(client_id),
            action=Action.AUTHN_TOKEN_REUSE,
            target=user_party(user_session.user_id),
            outcome=Outcome.FAILURE,
        )
        work.keep_when_refused()  # the family stays revoked though the rotation is refused
        raise RefreshTokenReused()
    row.used_at = now
    user_session.last_used_at = now
    token = _issue_refresh_token(work, digests=digests, session_id=user_session.id, now=now)
    return RotatedRefresh(user_session=user_session, refresh_token=token)


def revoke_refresh_token(work: Work, *, digests: OpaqueTokenDigests, client_id: str, token: str) -> None:
    """RFC 7009 revocation: revoking any refresh token of a session revokes the session.

    An unknown token (or one already revoked) is fine, as RFC 7009 §2.2 asks;
    a token issued to another client raises ``InvalidToken`` (§2.1: the
    server verifies the token was issued to the requesting client).
    """
    row = work.session.scalar(
        select(RefreshToken).where(RefreshToken.digest == digests.digest(token, kind=REFRESH_TOKEN_KIND))
    )
    if row is None:
        return
    user_session = work.session.get_one(UserSession, row.session_id)
    if user_session.client_id != client_id:
        raise InvalidToken()
    if user_session.revoked_at is None:
        user_session.revoked_at = work.clock.now()
        work.session.flush()
        _record_revocation(work, actor=client_party(client_id), user_id=user_session.user_id)


def _record_revocation(work: Work, *, actor: Party, user_id: str) -> None:
    audit.record(
        work, actor=actor, action=Action.SESSION_REVOKE, target=user_party(user_id), outcome=Outcome.SUCCESS
    )


def revoke_session(work: Work, *, user_id: str, session_id: str) -> None:
    """A user ends one of their sessions (logout, ``DELETE /v1/me/sessions/{id}``); idempotent.

    Raises ``NotFound`` for a session that is not this user's, so ids of
    other users' sessions cannot be probed.
    """
    user_session = work.session.get(UserSession, session_id)
    if user_session is None or user_session.user_id != user_id:
        raise NotFound()
    if user_session.revoked_at is None:
        user_session.revoked_at = work.clock.now()
        work.session.flush()
        _record_revocation(work, actor=user_party(user_id), user_id=user_id)


def revoke_all_sessions(work: Work, *, user_id: str, except_session_id: str | None = None) -> int:
    """End every live session of a user but ``except_session_id`` (a password change keeps the current one).

    Returns how many sessions were revoked.
    """
    now = work.clock.now()
    statement = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now
    )
    if except_session_id is not None:
        statement = statement.where(UserSession.id != except_session_id)
    result = work.session.execute(statement.values(revoked_at=now))
    assert isinstance(result, CursorResult)
    return result.rowcount


@dataclass(frozen=True)
class SessionPosition:
    """Where a page of ``list_sessions`` ended: when its last session was last used, and its id."""

    last_used_at: datetime
    id: str


def list_sessions(
    work: Work,
    *,
    user_id: str,
    limit: int | None = None,
    after: SessionPosition | None = None,
    include_ended: bool = False,
) -> list[SessionView]:
    """A user's live sessions (neither revoked nor expired), the most recently used first; at most ``limit``.

    ``include_ended`` lists ended ones too: the login history an access request exports.

    ``after`` is the position of the previous page's last session: the page
    goes on from there (a session used in between moves to the front, which
    the caller has already seen).
    """
    query = (
        select(UserSession)
        .where(UserSession.user_id == user_id)
        .order_by(UserSession.last_used_at.desc(), UserSession.id)
    )
    if not include_ended:
        query = query.where(UserSession.revoked_at.is_(None), UserSession.expires_at > work.clock.now())
    if after is not None:
        query = query.where(
            or_(
                UserSession.last_used_at < after.last_used_at,
                and_(UserSession.last_used_at == after.last_used_at, UserSession.id > after.id),
            )
        )
    if limit is not None:
        query = query.limit(limit)
    rows = work.session.scalars(query).all()
    fields = _session_fields(work, user_id=user_id)
    return [
        SessionView(
            id=row.id,
            client_id=row.client_id,
            amr=tuple(AuthMethod(method) for method in row.amr.split()),
            user_agent=fields.open("user_agent", row.user_agent),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )
        for row in rows
    ]


def is_session_active(work: Work, *, session_id: str) -> bool:
    """Whether a session still stands; an access token carrying its ``sid`` is honoured only while it does."""
    user_session = work.session.get(UserSession, session_id)
    return (
        user_session is not None
        and user_session.revoked_at is None
        and user_session.expires_at > work.clock.now()
    )


def _usable_session(*, session: Session, token: RefreshToken, client_id: str, now: datetime) -> UserSession:
    """The live session of ``token`` for this client, or ``InvalidToken`` (no change to any row)."""
    user_session = session.get_one(UserSession, token.session_id)
    # RFC 6749 §6: the refresh token must have been issued to the authenticated client.
    if user_session.client_id != client_id:
        raise InvalidToken()
    if user_session.revoked_at is not None or user_session.expires_at <= now:
        raise InvalidToken()
    return user_session


def _issue_refresh_token(work: Work, *, digests: OpaqueTokenDigests, session_id: str, now: datetime) -> str:
    token = new_opaque_token()
    work.insert_at_commit(
        _INSERT_REFRESH_TOKEN,
        {
            "id": new_id(),
            "session_id": session_id,
            "digest": digests.digest(token, kind=REFRESH_TOKEN_KIND),
            "issued_at": now,
            "used_at": None,
        },
    )
    return token


def _session_fields(work: Work, *, user_id: str) -> SubjectFields:
    return work.subject_fields(table=UserSession.__tablename__, subject_id=user_id)


# Built once: every login runs both.
_INSERT_SESSION: Final = InsertAtCommit(
    UserSession,
    columns=(
        "id", "user_id", "client_id", "amr", "user_agent",
        "created_at", "last_used_at", "expires_at", "revoked_at",
    ),
)  # fmt: skip
_INSERT_REFRESH_TOKEN: Final = InsertAtCommit(
    RefreshToken, columns=("id", "session_id", "digest", "issued_at", "used_at")
)
