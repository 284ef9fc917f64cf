"""A shop's approvals: one operation, confirmed with the customer's current code, its token used once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from privacy_service.api.deps import CredentialsDep, SettingsDep, WorkDep, client_with, staff_or_client_with
from privacy_service.approvals import service
from privacy_service.approvals.schemas import (
    ApprovalConfirmation,
    ApprovalCreated,
    ApprovalRequest,
    ApprovalTokenAnswer,
    ApprovalView,
)
from privacy_service.identity.principals import Principal
from privacy_service.identity.scopes import Role, Scope

router = APIRouter(tags=["approvals"])

Approver = Annotated[Principal, Depends(client_with(Scope.APPROVALS_WRITE))]
Reader = Annotated[
    Principal, Depends(staff_or_client_with(Scope.APPROVALS_WRITE, Role.COMPLIANCE_OFFICER, Role.ADMIN))
]
ApprovalId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post(
    "/v1/approvals",
    status_code=status.HTTP_201_CREATED,
    response_model=ApprovalCreated,
    summary="Ask the customer to approve one operation with their second factor",
)
def request_approval(
    body: ApprovalRequest, client: Approver, work: WorkDep, settings: SettingsDep
) -> ApprovalCreated:
    approval = service.request_approval(
        work,
        client_id=client.id,
        subject_id=body.subject_id,
        operation=body.operation.operation(),
        lifetime=settings.approval_lifetime,
    )
    return ApprovalCreated(
        id=approval.id,
        status=approval.status,
        expires_at=approval.expires_at,
        operation_digest=approval.operation_digest,
    )


@router.post(
    "/v1/approvals/{approval_id}/confirm",
    response_model=ApprovalTokenAnswer,
    summary="Confirm with the customer's current TOTP code; answers the approval token",
)
def confirm_approval(
    approval_id: ApprovalId,
    body: ApprovalConfirmation,
    client: Approver,
    work: WorkDep,
    credentials: CredentialsDep,
) -> ApprovalTokenAnswer:
    token = service.confirm_approval(
        work, credentials=credentials, client_id=client.id, approval_id=approval_id, code=body.code
    )
    return ApprovalTokenAnswer(approval_token=token)


@router.get("/v1/approvals/{approval_id}", response_model=ApprovalView, summary="An approval's state")
def read_approval(approval_id: ApprovalId, caller: Reader, work: WorkDep) -> ApprovalView:
    approval = service.read_approval(
        session=work.session, client_id=None if caller.is_user else caller.id, approval_id=approval_id
    )
    return ApprovalView(
        id=approval.id,
        subject_id=approval.subject_id,
        status=approval.status,
        operation_digest=approval.operation_digest,
        expires_at=approval.expires_at,
        approved_at=approval.approved_at,
    )
