"""Signing in on a page: the API's login, step by step, ending in a browser session instead of tokens.

The form posts ``email`` and ``password``; the login is ``identity.login``'s,
for the first-party client, so it has the API's throttle, its enumeration
resistance (one answer, and the same argon2 work, whether or not the email
exists) and its audit events. It asks for the session alone (``Grant.SESSION``:
no token is signed or stored that nobody would receive) and counts failures
per account and address, not in the first-party client's one window
(``client_bucket=False``). Where a second factor is enrolled, a second form
posts ``code`` with the login's ``mfa_token`` in a hidden field, as a shop would
hold it. Success opens a browser session (``identity.browser_sessions``) and
hands the browser a new cookie. ``admit`` is the area's own condition (the
console's: staff with a second factor), checked before any browser session is
opened (one refused leaves the login's session revoked).
"""

from __future__ import annotations

from collections.abc import Callable

from anyio import to_thread
from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response

from privacy_service.core.errors import DomainError
from privacy_service.identity import login
from privacy_service.identity.browser_sessions import forget_browser_session, open_browser_session
from privacy_service.identity.clients import FIRST_PARTY_CLIENT_ID
from privacy_service.identity.errors import InvalidCode, InvalidCredentials, InvalidMfaToken
from privacy_service.identity.login import Grant, LoginAttempt, LoginResult
from privacy_service.identity.scopes import AuthMethod
from privacy_service.identity.sessions import revoke_session
from privacy_service.web.visitors import Visitor, WebArea, form_poster_in, visitor_in
from privacy_service.work import Work

#: Longest email and password a form may post: longer is no account, and costs no argon2 work.
EMAIL_MAX_LENGTH = 320
PASSWORD_MAX_LENGTH = 1024

_PASSWORD = (AuthMethod.PASSWORD,)
_PASSWORD_AND_CODE = (AuthMethod.PASSWORD, AuthMethod.OTP)

#: The area's condition on who signed in (their id, how): raises a ``DomainError`` to refuse them.
Admission = Callable[[Work, str, tuple[AuthMethod, ...]], None]


def sign_in_page(visitor: Visitor, *, status_code: int = 200, error: str | None = None) -> Response:
    return visitor.page("sign_in.html", status_code=status_code, error=error)


async def check_password(visitor: Visitor, *, email: str, password: str, admit: Admission) -> Response:
    """The first form: a browser session, the second-factor form, or the sign-in form again with why."""
    if not email.strip() or not password:
        return sign_in_page(visitor, status_code=400, error="missing_fields")
    if len(email) > EMAIL_MAX_LENGTH or len(password) > PASSWORD_MAX_LENGTH:
        return sign_in_page(visitor, status_code=401, error="invalid_credentials")
    request = visitor.request
    attempt = LoginAttempt(
        email=email,
        password=password,
        client_id=FIRST_PARTY_CLIENT_ID,
        ip=visitor.ip,
        user_agent=request.headers.get("user-agent"),
        grant=Grant.SESSION,
        client_bucket=False,
    )
    try:
        result = await login.login_awaiting_the_pool(
            workplace=visitor.workplace, credentials=visitor.credentials, attempt=lambda: attempt
        )
    except InvalidCredentials:
        return sign_in_page(visitor, status_code=401, error="invalid_credentials")
    if result.mfa_token is not None:
        return code_page(visitor, mfa_token=result.mfa_token)
    return await to_thread.run_sync(_open, visitor, result, admit)


def code_page(
    visitor: Visitor, *, mfa_token: str, status_code: int = 200, error: str | None = None
) -> Response:
    return visitor.page(
        "sign_in_code.html",
        status_code=status_code,
        mfa_token=mfa_token,
        error=error,
    )


def check_code(visitor: Visitor, *, mfa_token: str, code: str, admit: Admission) -> Response:
    """The second form: a browser session, or the same form again (a wrong code counts, as in the API)."""
    request = visitor.request
    try:
        with visitor.work() as work:
            granted = login.complete_mfa(
                work,
                credentials=visitor.credentials,
                client_id=FIRST_PARTY_CLIENT_ID,
                mfa_token=mfa_token,
                code=code.strip(),
                ip=visitor.ip,
                user_agent=request.headers.get("user-agent"),
                grant=Grant.SESSION,
                client_bucket=False,
            )
            token = _admitted(work, visitor, admit, granted.user_id, granted.session_id, _PASSWORD_AND_CODE)
    except InvalidMfaToken:
        return sign_in_page(visitor, status_code=401, error="sign_in_expired")
    except InvalidCode:
        return code_page(visitor, mfa_token=mfa_token, status_code=401, error="invalid_code")
    return _signed_in(visitor, token)


def sign_out(visitor: Visitor) -> Response:
    """End the session server-side (its identity session is revoked, so no copy of the cookie works)."""
    principal = visitor.session
    if principal is not None:
        assert principal.session_id is not None
        with visitor.work() as work:
            revoke_session(work, user_id=principal.id, session_id=principal.session_id)
            if visitor.session_token is not None:
                forget_browser_session(work, digests=visitor.credentials.digests, token=visitor.session_token)
    response = visitor.redirect("/sign-in")
    visitor.end_session(response)
    return response


def _open(visitor: Visitor, result: LoginResult, admit: Admission) -> Response:
    granted = result.granted
    assert granted is not None
    try:
        with visitor.work() as work:
            token = _admitted(work, visitor, admit, granted.user_id, granted.session_id, _PASSWORD)
    except DomainError:
        with visitor.work() as work:  # the login's session is not left open for nobody
            revoke_session(work, user_id=granted.user_id, session_id=granted.session_id)
        raise
    return _signed_in(visitor, token)


def _admitted(
    work: Work, visitor: Visitor, admit: Admission, user_id: str, session_id: str, amr: tuple[AuthMethod, ...]
) -> str:
    """The new browser session's cookie, once the area has admitted whoever signed in."""
    admit(work, user_id, amr)
    return open_browser_session(
        work, digests=visitor.credentials.digests, session_id=session_id, area=visitor.where.area
    )


def _signed_in(visitor: Visitor, token: str) -> Response:
    response = visitor.redirect("/")
    visitor.start_session(response, token)
    return response


def add_sign_in_routes(router: APIRouter, *, where: WebArea, admit: Admission) -> None:
    """The area's root, sign-in forms and sign-out, admitting whom ``admit`` admits."""
    page_visitor, form_poster = visitor_in(where), form_poster_in(where)

    @router.get("")
    def root() -> RedirectResponse:
        return RedirectResponse(where.root + "/", status_code=308)

    @router.get("/sign-in")
    def sign_in_form(visitor: Visitor = Depends(page_visitor)) -> Response:
        if visitor.session is not None:
            return visitor.redirect("/")
        return sign_in_page(visitor)

    @router.post("/sign-in")
    async def sign_in_with_password(
        visitor: Visitor = Depends(form_poster),
        email: str = Form("", max_length=EMAIL_MAX_LENGTH * 2),
        password: str = Form("", max_length=PASSWORD_MAX_LENGTH * 2),
    ) -> Response:
        return await check_password(visitor, email=email, password=password, admit=admit)

    @router.post("/sign-in/code")
    def sign_in_with_code(
        visitor: Visitor = Depends(form_poster),
        mfa_token: str = Form("", max_length=128),
        code: str = Form("", max_length=64),
    ) -> Response:
        return check_code(visitor, mfa_token=mfa_token, code=code, admit=admit)

    @router.post("/sign-out")
    def sign_out_form(visitor: Visitor = Depends(form_poster)) -> Response:
        return sign_out(visitor)
