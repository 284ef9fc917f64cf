"""Who is looking at a page: their language, their browser session if any, and the CSRF token of their forms.

A ``Visitor`` is resolved once per request (``visitor_of``), in a short unit of
work of its own, as the API resolves its caller. Pages that need someone signed
in ask for ``signed_in``, which raises ``NotAuthenticated``; the area's route
class (``web/routing.py``) answers that with a redirect to its sign-in page.

The cookies (API.md "The web pages"):

- a session cookie per area, ``__Host-ps_privacy`` and ``__Host-ps_console`` when
  the service is reached over TLS (``Secure``, ``Path=/``, no ``Domain``: the
  browser keeps it to this exact origin), ``ps_privacy`` and ``ps_console`` over
  plain HTTP on a developer's machine; ``HttpOnly`` and ``SameSite=Lax`` always,
  and no ``Max-Age``: the session ends with the browser or the server, whichever
  is first;
- a pre-session cookie, ``__Host-ps_presession``, to which the sign-in form's CSRF
  token is bound before anyone is signed in (login CSRF);
- a receipt cookie, ``__Host-ps_receipt``, handed over with an erasure request, so the
  browser that filed it can follow it after it has erased the account (``dsr.receipts``);
- ``lang``, the language the visitor chose with the switch: not personal data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from privacy_service.core.config import Settings
from privacy_service.crypto.opaque_tokens import new_opaque_token
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.identity import mfa
from privacy_service.identity.browser_sessions import Area, check_csrf, csrf_token, signed_in
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import NotAuthenticated
from privacy_service.identity.principals import Principal
from privacy_service.web.assets import StaticAssets
from privacy_service.web.branding import Brand
from privacy_service.web.i18n import (
    CONSOLE_LANGUAGES,
    LANGUAGE_COOKIE,
    PRIVACY_LANGUAGES,
    Language,
    choose_language,
)
from privacy_service.web.pages import render
from privacy_service.work import Work, Workplace

CSRF_FIELD = "csrf_token"
PRESESSION_MAX_AGE_SECONDS = 3600


@dataclass(frozen=True)
class WebArea:
    """The privacy center or the console: its root, its languages, its session cookie."""

    area: Area
    root: str
    languages: tuple[str, ...]

    @property
    def cookie(self) -> str:
        """The name of the area's session cookie (``cookie_name`` adds the prefix over TLS)."""
        return f"ps_{self.area.value}"


PRIVACY = WebArea(area=Area.PRIVACY, root="/privacy", languages=PRIVACY_LANGUAGES)
CONSOLE = WebArea(area=Area.CONSOLE, root="/console", languages=CONSOLE_LANGUAGES)
PRESESSION_COOKIE = "ps_presession"
RECEIPT_COOKIE = "ps_receipt"


def cookie_name(name: str, *, secure: bool) -> str:
    """``name`` with the ``__Host-`` prefix over TLS: ``Secure``, ``Path=/``, no ``Domain``."""
    return f"__Host-{name}" if secure else name


@dataclass
class Visitor:
    """The person at the browser for one request, and what pages need of the app to serve them."""

    request: Request
    where: WebArea
    language: Language
    secure: bool
    settings: Settings
    workplace: Workplace
    credentials: Credentials
    static_assets: StaticAssets
    brand: Brand
    fulfilment: Fulfilment
    session_token: str | None
    presession_token: str | None
    session: Principal | None  # who is signed in, as the API's caller
    new_presession: bool = False

    @property
    def signed_in(self) -> Principal:
        if self.session is None:
            raise NotAuthenticated("Sign in to continue.")
        return self.session

    @contextmanager
    def work(self) -> Iterator[Work]:
        """The unit of work of this page's change: it commits before the page is rendered."""
        with self.workplace.open() as work:
            yield work

    def confirm_second_factor(self, work: Work, code: str) -> None:
        """A fresh code from the signed-in person's second factor (TOTP, or a recovery code), before a change
        that a stolen session alone must not make: an erasure, a staff action that changes access.

        The check is the login's (``mfa.verify_second_factor_throttled``): a code used once is refused
        again, and a wrong one counts as a failed attempt of the account. Raises ``InvalidCode``.
        """
        me = self.signed_in
        mfa.verify_second_factor_throttled(
            work,
            recovery=self.credentials.recovery,
            throttle=self.credentials.throttle(work),
            user_id=me.id,
            client_id=None,  # the pages count per account and address, not in their client's window
            ip=self.ip,
            code=code.strip(),
        )

    def csrf_token(self) -> str:
        """The token of the page's forms: bound to the session cookie, or before sign-in, the pre-session."""
        binding = self.session_token if self.session is not None else self._presession()
        assert binding is not None
        return csrf_token(self.credentials.digests, binding=binding)

    def check_csrf(self, sent: str | None) -> None:
        """Raise ``CsrfRefused`` unless ``sent`` is this visitor's token: before anything changes."""
        binding = self.session_token if self.session is not None else self.presession_token
        check_csrf(self.credentials.digests, binding=binding, sent=sent)

    def page(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        response = render(
            template,
            language=self.language,
            languages=self.where.languages,
            shop_name=self.settings.shop_name,
            status_code=status_code,
            visitor=self,
            root=self.where.root,
            base=f"{self.where.area.value}/base.html",  # the area's layout, for the pages both areas share
            csrf_field=CSRF_FIELD,
            **context,
        )
        self.finish(response)
        return response

    def redirect(self, path: str) -> RedirectResponse:
        """303 See Other to a page of this service (never to an address taken from the request)."""
        response = RedirectResponse(self.where.root + path, status_code=303)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        """Set the cookies this request made: a new pre-session, the chosen language."""
        if self.new_presession and self.presession_token is not None:
            self._set_cookie(
                response, PRESESSION_COOKIE, self.presession_token, max_age=PRESESSION_MAX_AGE_SECONDS
            )
        chosen = self.request.query_params.get("lang")
        if chosen in self.where.languages:
            response.set_cookie(
                LANGUAGE_COOKIE, chosen, max_age=365 * 86400, path="/", secure=self.secure, samesite="lax"
            )

    def start_session(self, response: Response, token: str) -> None:
        """Hand the browser a new session cookie (a new one at every sign-in: no session fixation)."""
        self._set_cookie(response, self.where.cookie, token)

    @property
    def receipt_token(self) -> str | None:
        return self._cookie(RECEIPT_COOKIE)

    def give_receipt(self, response: Response, token: str, *, max_age: int) -> None:
        self._set_cookie(response, RECEIPT_COOKIE, token, max_age=max_age)

    def end_session(self, response: Response) -> None:
        response.delete_cookie(
            cookie_name(self.where.cookie, secure=self.secure),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    @property
    def ip(self) -> str | None:
        """The visitor's address, as the login throttle counts it (behind a proxy: as uvicorn resolves it)."""
        return self.request.client.host if self.request.client else None

    def _cookie(self, name: str) -> str | None:
        return self.request.cookies.get(cookie_name(name, secure=self.secure))

    def _set_cookie(self, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
        """A cookie of the service's own: HttpOnly, SameSite=Lax, the whole origin, Secure over TLS."""
        response.set_cookie(
            cookie_name(name, secure=self.secure),
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def _presession(self) -> str:
        if self.presession_token is None:
            self.presession_token = new_opaque_token()
            self.new_presession = True
        return self.presession_token


def visitor_of(request: Request, where: WebArea) -> Visitor:
    """The visitor of ``request`` in ``where``, their browser session checked if they hold one."""
    state = request.app.state
    settings: Settings = state.settings
    secure = _served_over_tls(request, settings)
    language = choose_language(
        offered=where.languages,
        chosen=request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )
    visitor = Visitor(
        request=request,
        where=where,
        language=language,
        secure=secure,
        settings=settings,
        workplace=state.workplace,
        credentials=state.credentials,
        static_assets=state.static_assets,
        brand=state.brand,
        fulfilment=state.fulfilment,
        session_token=request.cookies.get(cookie_name(where.cookie, secure=secure)),
        presession_token=request.cookies.get(cookie_name(PRESESSION_COOKIE, secure=secure)),
        session=None,
    )
    if visitor.session_token:
        try:
            with visitor.work() as work:
                visitor.session = signed_in(
                    work,
                    digests=visitor.credentials.digests,
                    token=visitor.session_token,
                    area=where.area,
                    idle=settings.web_session_idle,
                    lifetime=settings.web_session_lifetime,
                )
        except NotAuthenticated:
            visitor.session = None
    request.state.visitor = visitor  # for the error page, should the route fail (web/routing.py)
    return visitor


def _served_over_tls(request: Request, settings: Settings) -> bool:
    if settings.public_url is not None:
        return settings.public_url.startswith("https://")
    return request.url.scheme == "https"


def visitor_in(where: WebArea) -> Callable[[Request], Visitor]:
    """The dependency of ``where``'s pages: the visitor, their session checked (``visitor_of``)."""

    def dependency(request: Request) -> Visitor:
        return visitor_of(request, where)

    return dependency


def form_poster_in(where: WebArea) -> Callable[..., Visitor]:
    """The dependency of ``where``'s form posts: the visitor, their CSRF token checked before the route runs
    (a 403, and nothing changed, without the right one)."""

    page_visitor = visitor_in(where)

    def dependency(
        visitor: Visitor = Depends(page_visitor),
        csrf_token: str | None = Form(None, alias=CSRF_FIELD, max_length=128),
    ) -> Visitor:
        visitor.check_csrf(csrf_token)
        return visitor

    return dependency
