"""The console's downstream systems (``/console/systems``): their deliveries; admins register and remove.

Officers and admins see every system, where it came from (``policies/`` or
registered), its open tasks, how many are being retried, and its latest tasks
with their attempts and last error. Admins register a system and remove one,
each with a fresh second factor, as ``POST`` and ``DELETE /v1/systems`` do:
the same service calls, the same audit events. A system's secret is taken once
and never shown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response
from pydantic import ValidationError

from privacy_service.core.errors import DomainError
from privacy_service.dsr import systems
from privacy_service.dsr.deliveries import deliveries_of
from privacy_service.dsr.schemas import SYSTEM_NAME_PATTERN, SystemRegistration
from privacy_service.identity.scopes import Role
from privacy_service.policy import SystemRequestType
from privacy_service.web.routing import page_route
from privacy_service.web.staff import FormVisitor, PageVisitor, Refusal, SecondFactorCode, as_admin, as_staff
from privacy_service.web.visitors import CONSOLE, Visitor

router = APIRouter(prefix=CONSOLE.root, route_class=page_route(CONSOLE), include_in_schema=False)

SystemName = Annotated[str, Path(pattern=SYSTEM_NAME_PATTERN)]
LongField = Annotated[str, Form(max_length=2000)]
ShortField = Annotated[str, Form(max_length=200)]


@router.get("/systems")
def systems_page(visitor: PageVisitor) -> Response:
    return _systems_page(visitor)


def _systems_page(visitor: Visitor, *, refusal: Refusal | None = None) -> Response:
    principal = as_staff(visitor)
    with visitor.work() as work:
        described = systems.describe_systems(session=work.session, policies=visitor.fulfilment.policies)
        deliveries = deliveries_of(session=work.session, systems=[system.name for system in described])
    return visitor.page(
        "console/systems.html",
        status_code=200 if refusal is None else refusal.status,
        systems=[(system, deliveries[system.name]) for system in described],
        is_admin=Role.ADMIN in principal.roles,
        is_officer=Role.COMPLIANCE_OFFICER in principal.roles,
        request_types=[kind.value for kind in SystemRequestType],
        refusal=refusal,
    )


@router.post("/systems")
def register(
    visitor: FormVisitor,
    code: SecondFactorCode = "",
    name: ShortField = "",
    url: LongField = "",
    secret: ShortField = "",
    request_types: Annotated[list[str], Form(max_length=8)] = [],  # noqa: B006 - FastAPI copies defaults
    categories: LongField = "",
    timeout_seconds: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Register a system, its form checked as the API's body is (``SystemRegistration``)."""
    me = as_admin(visitor)
    sent = {
        "name": name,
        "url": url,
        "request_types": request_types,
        "categories": categories,
        "timeout_seconds": timeout_seconds,
    }
    try:
        body = SystemRegistration.model_validate(
            {
                "name": name.strip(),
                "url": url.strip(),
                "secret": secret.strip(),
                "request_types": request_types,
                "categories": [
                    item.strip() for item in categories.replace(",", "\n").splitlines() if item.strip()
                ],
                "timeout_seconds": timeout_seconds.strip() or None,
            }
        )
    except ValidationError as error:
        form = list(SystemRegistration.model_fields)
        return _systems_page(
            visitor, refusal=Refusal.of_invalid(error, code="invalid_system", form=form, sent=sent)
        )
    try:
        with visitor.work() as work:
            visitor.confirm_second_factor(work, code)
            systems.register_system(
                work,
                policies=visitor.fulfilment.policies,
                actor=me.party,
                name=body.name,
                url=str(body.url),
                secret=body.secret.get_secret_value(),
                request_types=body.request_types,
                categories=body.categories,
                timeout_seconds=body.timeout_seconds or visitor.fulfilment.default_timeout_seconds,
            )
    except DomainError as error:
        return _systems_page(visitor, refusal=Refusal.of(error, sent=sent))
    return visitor.redirect("/systems")


@router.post("/systems/{name}/remove")
def remove(visitor: FormVisitor, name: SystemName, code: SecondFactorCode = "") -> Response:
    """Remove a registered system (its secret's key is shredded); its open tasks then fail."""
    me = as_admin(visitor)
    try:
        with visitor.work() as work:
            visitor.confirm_second_factor(work, code)
            systems.unregister_system(work, policies=visitor.fulfilment.policies, actor=me.party, name=name)
    except DomainError as error:
        return _systems_page(visitor, refusal=Refusal.of(error))
    return visitor.redirect("/systems")
