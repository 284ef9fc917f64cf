"""Downstream systems: registered, listed and removed by admins (signed in with a second factor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from privacy_service.api.deps import FulfilmentDep, WorkDep, staff_with
from privacy_service.dsr import systems
from privacy_service.dsr.schemas import SYSTEM_NAME_PATTERN, SystemPage, SystemRegistration, SystemView
from privacy_service.identity.principals import Principal
from privacy_service.identity.scopes import Role

router = APIRouter(tags=["downstream systems"])

Admin = Annotated[Principal, Depends(staff_with(Role.ADMIN))]
SystemName = Annotated[str, Path(pattern=SYSTEM_NAME_PATTERN)]


def _view(target: systems.SystemDescription) -> SystemView:
    return SystemView(
        name=target.name,
        url=target.url,
        request_types=sorted(target.request_types),
        categories=list(target.categories),
        timeout_seconds=target.timeout_seconds,
        source=target.source.value,
    )


@router.get("/v1/systems", response_model=SystemPage, summary="Every downstream system (never a secret)")
def list_systems(_admin: Admin, work: WorkDep, fulfilment: FulfilmentDep) -> SystemPage:
    targets = systems.describe_systems(session=work.session, policies=fulfilment.policies)
    return SystemPage(items=[_view(target) for target in targets])


@router.post(
    "/v1/systems",
    status_code=status.HTTP_201_CREATED,
    response_model=SystemView,
    summary="Register a downstream system; its secret is encrypted and never returned",
)
def register_system(
    body: SystemRegistration, admin: Admin, work: WorkDep, fulfilment: FulfilmentDep
) -> SystemView:
    target = systems.register_system(
        work,
        policies=fulfilment.policies,
        actor=admin.party,
        name=body.name,
        url=str(body.url),
        secret=body.secret.get_secret_value(),
        request_types=body.request_types,
        categories=body.categories,
        timeout_seconds=body.timeout_seconds or fulfilment.default_timeout_seconds,
    )
    return _view(target)


@router.delete(
    "/v1/systems/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Unregister a downstream system"
)
def unregister_system(name: SystemName, admin: Admin, work: WorkDep, fulfilment: FulfilmentDep) -> None:
    systems.unregister_system(work, policies=fulfilment.policies, actor=admin.party, name=name)
