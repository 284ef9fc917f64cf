"""A shop records an operation it performed into the audit trail (API.md "The shop's own sensitive
operations"): parse, authorise (``audit:write``), call ``approvals.shop_events``, shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, status
from fastapi.responses import JSONResponse

from privacy_service.api.deps import CredentialsDep, FulfilmentDep, WorkDep, client_with
from privacy_service.approvals.shop_events.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    ShopEventCreated,
    ShopEventIn,
)
from privacy_service.approvals.shop_events.service import ShopEvent, record_event
from privacy_service.audit.actions import ShopAction
from privacy_service.identity.principals import Principal
from privacy_service.identity.scopes import Scope

router = APIRouter(tags=["audit trail"])

AuditWriter = Annotated[Principal, Depends(client_with(Scope.AUDIT_WRITE))]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Up to 255 printable ASCII characters, no spaces; a retry with the same key and body "
        "gets the first answer (for at least 24 hours) instead of a second event.",
    ),
]


@router.post(
    "/v1/audit/events",
    status_code=status.HTTP_201_CREATED,
    response_model=ShopEventCreated,
    summary="Record an operation the shop performed into the audit trail",
    responses={
        201: {
            "description": "Recorded; or, for a retried Idempotency-Key, the first answer again "
            "(with Idempotent-Replayed: true)."
        }
    },
)
def record_shop_event(
    body: ShopEventIn,
    writer: AuditWriter,
    work: WorkDep,
    fulfilment: FulfilmentDep,
    credentials: CredentialsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    recorded = record_event(
        work,
        client_id=writer.client_id,
        event=ShopEvent(
            action=ShopAction(body.action),
            actor=body.actor.party(),
            target=body.target.party(),
            outcome=body.outcome,
            details=body.details,
            approval_token=body.approval_token,
        ),
        policies=fulfilment.policies,
        credentials=credentials,
        idempotency_key=idempotency_key,
    )
    headers = {"Idempotent-Replayed": "true"} if recorded.replayed else {}
    return JSONResponse(status_code=recorded.status, content=recorded.body, headers=headers)
