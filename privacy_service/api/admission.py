"""Logins are admitted to the password pool at the edge, in the event loop, before any other work.

A plain ASGI layer in front of ``POST /v1/auth/login``: it takes a place in
the password pool for the login (``identity.admission``) and hands it to the
route in the request's state, or answers 503 ``hashing_busy`` with
Retry-After at once, before FastAPI parses the body, a thread is taken, the
client's token is checked or the database is touched. So a flood of logins
is refused at the cost of an HTTP round trip, and the memory in use stays
bounded by the pool's places.

The body is read here only when the pool admits no more ordinary logins
(the next would wait longer than its budget): its email
and ``context.ip`` tell a login that comes back after its Retry-After from a
new one (a login body is small; a larger one is refused without reading it
as JSON, it would be invalid anyway). The route then reads the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_service.api.middleware import send_problem
from privacy_service.api.problems import domain_problem
from privacy_service.identity.admission import LoginAdmission
from privacy_service.identity.hashing_pool import HashingBusy, PoolPlace

#: The requests that verify a password and are admitted here: (method, path).
ADMITTED = frozenset({("POST", "/v1/auth/login")})
#: Where the route finds the place (``request.state.password_place``).
PLACE_STATE_KEY = "password_place"
#: The largest body read as JSON in the event loop: a valid login is far smaller.
LARGEST_LOGIN_BODY = 16 * 1024


class LoginAdmissionMiddleware:
    """Give each login a place in the password pool before the app sees it, or answer 503 at once."""

    def __init__(self, app: ASGIApp, *, admission: Callable[[], LoginAdmission | None]) -> None:
        self.app = app
        self._admission = admission  # read per request: Credentials are built when the server starts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        admission = self._admission() if scope["type"] == "http" else None
        if admission is None or (scope.get("method"), scope.get("path")) not in ADMITTED:
            await self.app(scope, receive, send)
            return
        place = admission.admit()
        if place is None:
            messages, body = await _read_body(receive)
            email, ip = _email_and_ip(body)
            try:
                place = admission.admit_returning(caller=_authorization(scope), email=email, ip=ip)
            except HashingBusy as busy:
                status, headers, problem = domain_problem(busy)
                await send_problem(send, status=status, body=problem, headers=headers)
                return
            receive = _replay(messages, receive)
        await self._run_in(place, scope, receive, send)

    async def _run_in(self, place: PoolPlace, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[PLACE_STATE_KEY] = place
        try:
            await self.app(scope, receive, send)
        finally:
            place.release()  # nothing when the login hashed in it: the work freed it already


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """Every message up to the end of the body (the size limit's layer, further out, bounds it)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def _email_and_ip(body: bytes) -> tuple[str | None, str | None]:
    """The login's email and ``context.ip`` as sent, or (None, None) when the body is no login."""
    if len(body) > LARGEST_LOGIN_BODY:
        return None, None
    try:
        login = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(login, dict) or not isinstance(login.get("email"), str):
        return None, None
    context = login.get("context")
    ip = context.get("ip") if isinstance(context, dict) else None
    return login["email"], ip if isinstance(ip, str) else None


def _authorization(scope: Scope) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bytes(value)
    return b""
