"""Revoking tokens (RFC 7009), and the check every use of an access token passes here.

A refresh token is revoked with its session (``sessions.revoke_refresh_token``).
An access token is a JWT, verified by its signature, so nothing can recall
it from a shop that verifies it locally: its lifetime is short for that reason
(``PRIVACY_ACCESS_TOKEN_SECONDS``, 5 minutes by default). This service's own
checks and introspection do refuse it once revoked (RFC 7009 §2.1): its
``jti`` is kept until the token would have expired, leeway included, and then
purged by the worker.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import CursorResult, bindparam, delete, select

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, client_party, user_party
from privacy_service.core.db import run_core, upsert_insert
from privacy_service.core.errors import DomainError
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import InvalidToken
from privacy_service.identity.models import RevokedAccessToken
from privacy_service.identity.sessions import is_session_active, revoke_refresh_token
from privacy_service.identity.tokens import AccessClaims
from privacy_service.work import Work

# Built once: every authenticated call runs it (core.db.run_core).
_REVOKED = select(RevokedAccessToken.jti).where(RevokedAccessToken.jti == bindparam("jti"))


def revoke_token(work: Work, *, credentials: Credentials, client_id: str, token: str) -> None:
    """RFC 7009 §2.1: revoke an access token or a refresh token issued to ``client_id``.

    A token that is neither (unknown, expired, malformed) is fine, as §2.2
    asks; one issued to another client raises ``InvalidToken``. Revoking twice
    changes nothing the second time.
    """
    try:
        claims = credentials.tokens.verify_access_token(session=work.session, token=token, audience=None)
    except DomainError:
        revoke_refresh_token(work, digests=credentials.digests, client_id=client_id, token=token)
        return
    if claims.client_id != client_id:
        raise InvalidToken()
    insert = upsert_insert(work.session.get_bind().dialect.name, RevokedAccessToken)
    kept = run_core(
        work.session,
        insert.values(
            jti=claims.jti,
            expires_at=claims.expires_at + timedelta(seconds=credentials.tokens.leeway_seconds),
            revoked_at=work.clock.now(),
        )
        .on_conflict_do_nothing()
        .returning(RevokedAccessToken.jti),
    ).first()
    if kept is None:
        return  # revoked before (perhaps at this very moment, by another request)
    holder = client_party(claims.subject) if claims.session_id is None else user_party(claims.subject)
    audit.record(
        work,
        actor=client_party(client_id),
        action=Action.TOKEN_REVOKE,
        target=holder,
        outcome=Outcome.SUCCESS,
        details={"jti": claims.jti, "kind": "access_token"},
    )


def ensure_usable(work: Work, *, claims: AccessClaims) -> None:
    """Raise ``InvalidToken`` for a verified access token that was revoked or whose session has ended."""
    if run_core(work.session, _REVOKED, {"jti": claims.jti}).first() is not None:
        raise InvalidToken("The token was revoked.")
    if claims.session_id is not None and not is_session_active(work, session_id=claims.session_id):
        raise InvalidToken("The session of this token has ended.")


def purge_expired(work: Work) -> int:
    """Forget revocations of tokens that have expired anyway; return how many. For the background worker."""
    result = work.session.execute(
        delete(RevokedAccessToken).where(RevokedAccessToken.expires_at <= work.clock.now())
    )
    assert isinstance(result, CursorResult)
    return result.rowcount
