"""The OAuth grants a shop backend uses at /oauth/token (RFC 6749): client credentials and refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from privacy_service.identity.accounts import roles_of
from privacy_service.identity.clients import AuthenticatedClient
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.login import TokenPair
from privacy_service.identity.models import User
from privacy_service.identity.scopes import AuthMethod
from privacy_service.identity.sessions import rotate_refresh_token
from privacy_service.work import Work


@dataclass(frozen=True)
class ClientToken:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"  # noqa: S105 - RFC 6750 token type


def client_credentials(
    *, session: Session, credentials: Credentials, client: AuthenticatedClient
) -> ClientToken:
    """RFC 6749 §4.4: an access token for the client itself, carrying the scopes it was granted."""
    token = credentials.tokens.issue_access_token(
        session=session,
        subject=client.client_id,
        audience=client.client_id,
        client_id=client.client_id,
        amr=(),
        scopes=client.scopes,
    )
    return ClientToken(
        access_token=token,
        expires_in=credentials.tokens.access_token_seconds,
        scope=" ".join(sorted(client.scopes)),
    )


def refresh(
    work: Work, *, credentials: Credentials, client: AuthenticatedClient, refresh_token: str
) -> TokenPair:
    """RFC 6749 §6 with rotation (RFC 9700 §4.14.2): a new refresh token and access token for the session.

    Raises ``InvalidToken`` for an unknown, expired or revoked token and
    ``RefreshTokenReused`` (committing the family's revocation) for a used one.
    """
    rotated = rotate_refresh_token(
        work, digests=credentials.digests, client_id=client.client_id, refresh_token=refresh_token
    )
    user_session = rotated.user_session
    user = work.session.get_one(User, user_session.user_id)
    access = credentials.tokens.issue_access_token(
        session=work.session,
        subject=user.id,
        audience=client.client_id,
        client_id=client.client_id,
        amr=tuple(AuthMethod(method) for method in user_session.amr.split()),
        roles=roles_of(user),
        session_id=user_session.id,
    )
    return TokenPair(
        access_token=access,
        refresh_token=rotated.refresh_token,
        expires_in=credentials.tokens.access_token_seconds,
        session_id=user_session.id,
    )
