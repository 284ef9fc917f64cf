"""Browser sessions: a signed-in person on the web pages, known by a cookie, with idle and absolute timeouts.

The web pages sign people in through the same login as the API (``identity.login``:
the same throttle, enumeration resistance and audit events), on behalf of the
service's own client, ``identity.clients.FIRST_PARTY_CLIENT_ID``. The login opens an
identity session (a row of ``sessions``) and nothing more (``login.Grant.SESSION``: no access
token signed, no refresh token stored); a browser session is that session held by a cookie:

- the cookie carries 256 random bits (``crypto.opaque_tokens``), the table only their
  keyed digest, so neither a stolen database nor a planted row yields a usable cookie;
- a new cookie at every sign-in (no session fixation), none before (the sign-in form's
  CSRF token is bound to a pre-session cookie of its own, ``web/visitors.py``);
- it ends when idle for ``idle`` (``PRIVACY_WEB_SESSION_IDLE_MINUTES``), ``lifetime``
  after sign-in (``PRIVACY_WEB_SESSION_HOURS``), and when its identity session ends
  (sign-out, ``DELETE /v1/me/sessions/{id}``, a password change elsewhere, an admin
  disabling the account): checked on every request, server-side;
- it admits only to the area it was opened in: a privacy-center cookie is no console
  cookie.

CSRF tokens are keyed digests of the cookie's secret (the HMAC-based token pattern of
OWASP's CSRF cheat sheet): a page cannot be made to post without reading the token,
which the same-origin policy keeps from other sites; and the server stores nothing more.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import CursorResult, delete, or_, select

from privacy_service.core.ids import new_id
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests, new_opaque_token
from privacy_service.identity.accounts import roles_of
from privacy_service.identity.errors import CsrfRefused, NotAuthenticated
from privacy_service.identity.models import BrowserSession, User, UserSession
from privacy_service.identity.principals import Principal, PrincipalKind
from privacy_service.identity.scopes import AuthMethod
from privacy_service.work import InsertAtCommit, Work

BROWSER_SESSION_KIND = "browser-session"
CSRF_KIND = "csrf"
#: ``last_seen_at`` is written at most this often: a page view is a read, not a write.
SEEN_RESOLUTION = timedelta(seconds=60)


class Area(StrEnum):
    """Where a browser session was opened, and the only place it admits to."""

    CONSOLE = "console"
    PRIVACY = "privacy"


def open_browser_session(work: Work, *, digests: OpaqueTokenDigests, session_id: str, area: Area) -> str:
    """Hold the identity session a login just opened (``session_id``) in a new browser cookie; its value.

    The value exists only here and in the browser: the table keeps its keyed digest.

    The login's session row is written with the COMMIT (``identity.sessions.open_session``), so this
    row, which refers to it, is written there too, after it.
    """
    now = work.clock.now()
    token = new_opaque_token()
    work.insert_at_commit(
        _INSERT_BROWSER_SESSION,
        {
            "id": new_id(),
            "token_digest": digests.digest(token, kind=BROWSER_SESSION_KIND),
            "session_id": session_id,
            "area": area.value,
            "created_at": now,
            "last_seen_at": now,
        },
    )
    return token


def signed_in(
    work: Work, *, digests: OpaqueTokenDigests, token: str, area: Area, idle: timedelta, lifetime: timedelta
) -> Principal:
    """Who holds the cookie ``token`` in ``area``, as the API's caller; ``NotAuthenticated`` if no one.

    A session idle for longer than ``idle``, or older than ``lifetime`` (the absolute timeout), is
    deleted here, so it cannot come back.
    """
    now = work.clock.now()
    found = work.session.execute(
        select(BrowserSession, UserSession, User)
        .join(UserSession, UserSession.id == BrowserSession.session_id)
        .join(User, User.id == UserSession.user_id)
        .where(BrowserSession.token_digest == digests.digest(token, kind=BROWSER_SESSION_KIND))
    ).one_or_none()
    if found is None:
        raise NotAuthenticated("Sign in to continue.")
    browser, user_session, user = found
    if now - browser.last_seen_at > idle or now - browser.created_at > lifetime:
        work.session.delete(browser)
        work.keep_when_refused()  # the stale session goes, though this request is refused
        raise NotAuthenticated("The session has timed out. Sign in again.")
    if (
        browser.area != area.value
        or user_session.revoked_at is not None
        or user_session.expires_at <= now
        or user.disabled_at is not None
    ):
        raise NotAuthenticated("Sign in to continue.")
    if now - browser.last_seen_at >= SEEN_RESOLUTION:
        browser.last_seen_at = now
        user_session.last_used_at = now
    return Principal(
        kind=PrincipalKind.USER,
        id=user.id,
        client_id=user_session.client_id,
        roles=roles_of(user),
        amr=frozenset(AuthMethod(method) for method in user_session.amr.split()),
        session_id=user_session.id,
    )


def forget_browser_session(work: Work, *, digests: OpaqueTokenDigests, token: str) -> None:
    """Delete the browser session of ``token``, if any (its identity session is revoked by the caller)."""
    work.session.execute(
        delete(BrowserSession).where(
            BrowserSession.token_digest == digests.digest(token, kind=BROWSER_SESSION_KIND)
        )
    )


def csrf_token(digests: OpaqueTokenDigests, *, binding: str) -> str:
    """The CSRF token of the forms shown to whoever holds ``binding`` (a session or pre-session cookie)."""
    return base64.urlsafe_b64encode(digests.digest(binding, kind=CSRF_KIND)).decode().rstrip("=")


def check_csrf(digests: OpaqueTokenDigests, *, binding: str | None, sent: str | None) -> None:
    """Raise ``CsrfRefused`` unless ``sent`` is the CSRF token of ``binding``."""
    if not binding or not sent:
        raise CsrfRefused()
    try:
        decoded = base64.urlsafe_b64decode(sent + "=" * (-len(sent) % 4))
    except (binascii.Error, ValueError):
        raise CsrfRefused() from None
    if not digests.matches(binding, decoded, kind=CSRF_KIND):
        raise CsrfRefused()


_INSERT_BROWSER_SESSION: Final = InsertAtCommit(
    BrowserSession,
    columns=("id", "token_digest", "session_id", "area", "created_at", "last_seen_at"),
)


def purge_expired(work: Work, *, idle: timedelta, lifetime: timedelta) -> int:
    """Delete the browser sessions that can no longer be used, timed out or idle; return how many.

    ``signed_in`` refuses them anyway: this only keeps the table to the live ones. For the worker.
    """
    now = work.clock.now()
    result = work.session.execute(
        delete(BrowserSession).where(
            or_(BrowserSession.last_seen_at < now - idle, BrowserSession.created_at < now - lifetime)
        )
    )
    assert isinstance(result, CursorResult)
    return result.rowcount
