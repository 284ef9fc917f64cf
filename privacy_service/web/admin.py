"""The admins' console pages: shop clients (``/console/clients``) and staff accounts (``/console/staff``).

Each action is the service call the operator's commands make (``privacy-service
clients ...``, ``privacy-service admin ...``), with the signed-in admin as the
audit event's actor instead of the service. Every one of them changes who may
reach the service, so each form carries a fresh second-factor code, checked as
the login checks it, before anything changes.

What is shown once is shown on the page that answers the form, never again and
never in a URL: a client's secret, a staff member's TOTP key and recovery
codes. Pages are answered ``no-store`` (``api/middleware.py``), so no cache keeps them.

An admin does not disable their own account or reset their own second factor
here: a slip would lock them out, and the console would have no admin left to
undo it. The operator's commands can.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response
from pydantic import ValidationError

from privacy_service.core.errors import DomainError
from privacy_service.identity import clients, staff
from privacy_service.identity.errors import Forbidden
from privacy_service.identity.mfa import TotpEnrolment
from privacy_service.identity.models import User
from privacy_service.identity.principals import Principal
from privacy_service.identity.scopes import Role, Scope
from privacy_service.web.pages import enrolment_shown
from privacy_service.web.routing import page_route
from privacy_service.web.staff import FormVisitor, PageVisitor, Refusal, SecondFactorCode, as_admin
from privacy_service.web.visitors import CONSOLE, Visitor
from privacy_service.work import Work

router = APIRouter(prefix=CONSOLE.root, route_class=page_route(CONSOLE), include_in_schema=False)

AccountId = Annotated[str, Path(min_length=1, max_length=64)]
Choices = Annotated[list[str], Form(max_length=16)]


class OwnAccount(Forbidden):
    """An admin's own account is changed from the operator's commands, not from the console."""

    code = "own_account"
    title = "Your own account is changed from the command line"


# -- shop clients --------------------------------------------------------------------------------------


@router.get("/clients")
def clients_page(visitor: PageVisitor) -> Response:
    return _clients_page(visitor)


def _clients_page(visitor: Visitor, *, refusal: Refusal | None = None) -> Response:
    as_admin(visitor)
    with visitor.work() as work:
        listed = clients.list_clients(session=work.session)
    return visitor.page(
        "console/clients.html",
        status_code=200 if refusal is None else refusal.status,
        clients=listed,
        scopes=[scope.value for scope in Scope],
        refusal=refusal,
    )


@router.post("/clients")
def create_client(
    visitor: FormVisitor,
    code: SecondFactorCode = "",
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Choices = [],  # noqa: B006 - FastAPI copies a default for each request
) -> Response:
    """Register a shop's backend; its secret is on the page that answers, once."""
    me = as_admin(visitor)
    try:
        granted = sorted({Scope(scope) for scope in scopes})
    except ValueError:
        granted = []
    fields = tuple(
        field for field, missing in (("name", not name.strip()), ("scopes", not granted)) if missing
    )
    sent = {"name": name, "scopes": [scope.value for scope in granted]}
    if fields:
        refusal = Refusal(code="invalid_client_form", status=422, fields=fields, sent=sent)
        return _clients_page(visitor, refusal=refusal)
    try:
        with visitor.work() as work:
            visitor.confirm_second_factor(work, code)
            registered = clients.register_client(
                work, digests=visitor.credentials.digests, name=name.strip(), scopes=granted, actor=me.party
            )
    except DomainError as error:
        return _clients_page(visitor, refusal=Refusal.of(error, sent=sent))
    return _secret_page(visitor, client_id=registered.client_id, secret=registered.client_secret, new=True)


@router.get("/clients/{client_id}")
def client_page(visitor: PageVisitor, client_id: AccountId) -> Response:
    return _client_page(visitor, client_id)


def _client_page(visitor: Visitor, client_id: str, *, refusal: Refusal | None = None) -> Response:
    as_admin(visitor)
    with visitor.work() as work:
        listed = clients.list_clients(session=work.session)
    found = next((client for client in listed if client.client_id == client_id), None)
    if found is None:
        raise clients.UnknownClient()
    return visitor.page(
        "console/client.html",
        status_code=200 if refusal is None else refusal.status,
        client=found,
        refusal=refusal,
    )


@router.post("/clients/{client_id}/rotate")
def rotate_secret(visitor: FormVisitor, client_id: AccountId, code: SecondFactorCode = "") -> Response:
    """A new secret for the client, on the page that answers, once; the old one is refused from now on."""
    me = as_admin(visitor)
    try:
        with visitor.work() as work:
            visitor.confirm_second_factor(work, code)
            secret = clients.rotate_client_secret(
                work, digests=visitor.credentials.digests, client_id=client_id, actor=me.party
            )
    except DomainError as error:
        return _client_page(visitor, client_id, refusal=Refusal.of(error))
    return _secret_page(visitor, client_id=client_id, secret=secret, new=False)


@router.post("/clients/{client_id}/disable")
def disable_client(visitor: FormVisitor, client_id: AccountId, code: SecondFactorCode = "") -> Response:
    me = as_admin(visitor)
    try:
        with visitor.work() as work:
            visitor.confirm_second_factor(work, code)
            clients.disable_client(work, client_id=client_id, actor=me.party)
    except DomainError as error:
        return _client_page(visitor, client_id, refusal=Refusal.of(error))
    return visitor.redirect(f"/clients/{client_id}")


def _secret_page(visitor: Visitor, *, client_id: str, secret: str, new: bool) -> Response:
    return visitor.page("console/client_secret.html", client_id=client_id, secret=secret, new=new)


# -- staff accounts ------------------------------------------------------------------------------------


@router.get("/staff")
def staff_page(visitor: PageVisitor) -> Response:
    return _staff_page(visitor)


def _staff_page(visitor: Visitor, *, refusal: Refusal | None = None) -> Response:
    me = as_admin(visitor)
    with visitor.work() as work:
        listed = staff.list_staff(work)
    return visitor.page(
        "console/staff.html",
        status_code=200 if refusal is None else refusal.status,
        accounts=listed,
        me=me.id,
        roles=[role.value for role in Role],
        refusal=refusal,
    )


@router.post("/staff")
def create_staff(
    visitor: FormVisitor,
    code: SecondFactorCode = "",
    email: Annotated[str, Form(max_length=640)] = "",
    password: Annotated[str, Form(max_length=2048)] = "",
    roles: Choices = [],  # noqa: B006 - FastAPI copies a default for each request
) -> Response:
    """A staff account with its TOTP already enrolled: the key and recovery codes are handed over once."""
    me = as_admin(visitor)
    try:
        granted = sorted({Role(role) for role in roles})
    except ValueError:
        granted = []
    sent = {"email": email, "roles": [role.value for role in granted]}
    if not granted:
        refusal = Refusal(code="invalid_staff_form", status=422, fields=("roles",), sent=sent)
        return _staff_page(visitor, refusal=refusal)
    try:
        with visitor.work() as work:
            visitor.confirm_second_factor(work, code)
            created = staff.create_staff(
                work,
                credentials=visitor.credentials,
                email=email.strip(),
                password=password,
                roles=granted,
                actor=me.party,
            )
    except ValidationError as error:
        refusal = Refusal.of_invalid(error, code="invalid_staff_form", form=("email",), sent=sent)
        return _staff_page(visitor, refusal=refusal)
    except DomainError as error:
        return _staff_page(visitor, refusal=Refusal.of(error, sent=sent))
    assert created.enrolment is not None
    return _enrolment_page(visitor, created.enrolment, created.recovery_codes, new=True)


@router.get("/staff/{user_id}")
def account_page(visitor: PageVisitor, user_id: AccountId) -> Response:
    return _account_page(visitor, user_id)


def _account_page(visitor: Visitor, user_id: str, *, refusal: Refusal | None = None) -> Response:
    me = as_admin(visitor)
    with visitor.work() as work:
        listed = staff.list_staff(work)
    found = next((account for account in listed if account.user_id == user_id), None)
    if found is None:
        raise staff.UnknownStaff()
    return visitor.page(
        "console/account.html",
        status_code=200 if refusal is None else refusal.status,
        account=found,
        own=found.user_id == me.id,
        refusal=refusal,
    )


@router.post("/staff/{user_id}/disable")
def disable_staff(visitor: FormVisitor, user_id: AccountId, code: SecondFactorCode = "") -> Response:
    """End the account's signing in and every session it holds; what it did stays attributable."""
    me = as_admin(visitor)
    try:
        with visitor.work() as work:
            user = _other_staff(visitor, work, me=me, user_id=user_id)
            visitor.confirm_second_factor(work, code)
            staff.disable_staff(work, user=user, actor=me.party)
    except DomainError as error:
        return _account_page(visitor, user_id, refusal=Refusal.of(error))
    return visitor.redirect(f"/staff/{user_id}")


@router.post("/staff/{user_id}/reset-mfa")
def reset_mfa(visitor: FormVisitor, user_id: AccountId, code: SecondFactorCode = "") -> Response:
    """A lost phone: a new TOTP key and recovery codes, shown once; the old ones and every session end."""
    me = as_admin(visitor)
    try:
        with visitor.work() as work:
            user = _other_staff(visitor, work, me=me, user_id=user_id)
            visitor.confirm_second_factor(work, code)
            reset = staff.reset_staff_mfa(work, credentials=visitor.credentials, user=user, actor=me.party)
    except DomainError as error:
        return _account_page(visitor, user_id, refusal=Refusal.of(error))
    return _enrolment_page(visitor, reset.enrolment, reset.recovery_codes, new=False)


def _other_staff(visitor: Visitor, work: Work, *, me: Principal, user_id: str) -> User:
    """The staff account ``user_id``, which is not the signed-in admin's own."""
    if user_id == me.id:
        raise OwnAccount()
    return staff.find_staff(session=work.session, emails=visitor.credentials.emails, user_id=user_id)


def _enrolment_page(visitor: Visitor, enrolment: TotpEnrolment, codes: list[str], *, new: bool) -> Response:
    return visitor.page(
        "console/staff_enrolment.html", recovery_codes=codes, new=new, **enrolment_shown(enrolment)
    )
