"""Data subject requests: filed by a customer or a shop, followed by the subject, queued for officers.

Also the callback through which a downstream system completes its task
later; it carries no bearer token, only the system's Standard Webhooks
signature, checked in the DSR layer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from privacy_service.api.deps import FulfilmentDep, PrincipalDep, WorkDep, WorkplaceDep, staff_with
from privacy_service.api.paging import DEFAULT_PAGE_SIZE, Cursor, Limit, page_position
from privacy_service.core.cursors import encode_cursor
from privacy_service.dsr import service
from privacy_service.dsr.callbacks import receive_callback
from privacy_service.dsr.exports import MEDIA_TYPE, bundle_content, download_export
from privacy_service.dsr.schemas import (
    FIRST_STATS_YEAR,
    LAST_STATS_YEAR,
    CallbackAnswer,
    Extension,
    Rejection,
    RequestFiling,
    RequestPage,
    RequestReceipt,
    RequestView,
    YearFigures,
)
from privacy_service.dsr.states import RequestStatus, TaskStatus
from privacy_service.dsr.stats import year_figures
from privacy_service.identity.errors import Forbidden
from privacy_service.identity.principals import Principal
from privacy_service.identity.scopes import Role, Scope
from privacy_service.policy import RequestType

router = APIRouter(tags=["data subject requests"])

Officer = Annotated[Principal, Depends(staff_with(Role.COMPLIANCE_OFFICER))]
RequestId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post(
    "/v1/dsr",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RequestReceipt,
    summary="File an access or erasure request",
)
def file_request(
    body: RequestFiling, caller: PrincipalDep, work: WorkDep, fulfilment: FulfilmentDep
) -> RequestReceipt:
    if not caller.is_user and Scope.DSR_WRITE not in caller.scopes:
        raise Forbidden(f"The client lacks the scope {Scope.DSR_WRITE.value}.")
    request = service.file_request(
        work, fulfilment=fulfilment, requester=caller, request_type=body.type, subject_id=body.subject_id
    )
    return RequestReceipt(
        id=request.id,
        type=RequestType(request.type),
        status=RequestStatus(request.status),
        due_at=request.due_at,
    )


@router.get("/v1/dsr", response_model=RequestPage, summary="The officers' queue, most urgent first")
def list_requests(
    _officer: Officer,
    work: WorkDep,
    fulfilment: FulfilmentDep,
    status_: Annotated[RequestStatus | None, Query(alias="status")] = None,
    type_: Annotated[RequestType | None, Query(alias="type")] = None,
    overdue: Annotated[
        bool, Query(description="only requests past their due date, not yet answered")
    ] = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> RequestPage:
    views, next_position = service.list_requests(
        work,
        fulfilment=fulfilment,
        filters=service.RequestFilter(status=status_, type=type_, overdue=overdue),
        limit=limit,
        after=page_position(cursor) if cursor else None,
    )
    return RequestPage(items=views, next_cursor=encode_cursor(next_position) if next_position else None)


# Declared before ``/v1/dsr/{request_id}``, which would otherwise take "stats" for a request's id.
@router.get(
    "/v1/dsr/stats",
    response_model=YearFigures,
    summary="A year's figures per request type and jurisdiction (CCPA regulations §7102)",
)
def stats(
    _officer: Officer,
    work: WorkDep,
    fulfilment: FulfilmentDep,
    year: Annotated[
        int | None,
        Query(
            ge=FIRST_STATS_YEAR,
            le=LAST_STATS_YEAR,
            description="the calendar year the requests were received in (UTC); default: the current one",
        ),
    ] = None,
) -> YearFigures:
    """Read as the queue is: by officers, and not recorded in the trail (the figures name no one)."""
    return year_figures(
        session=work.session, policies=fulfilment.policies, year=year or work.clock.now().year
    )


@router.get("/v1/dsr/{request_id}", response_model=RequestView, summary="A request and its tasks")
def get_request(
    request_id: RequestId, caller: PrincipalDep, work: WorkDep, fulfilment: FulfilmentDep
) -> RequestView:
    request = service.visible_request(session=work.session, principal=caller, request_id=request_id)
    return service.request_view(work, fulfilment=fulfilment, request=request)


@router.post("/v1/dsr/{request_id}/approve", response_model=RequestView, summary="Let a request go ahead")
def approve(request_id: RequestId, officer: Officer, work: WorkDep, fulfilment: FulfilmentDep) -> RequestView:
    request = service.approve_request(work, fulfilment=fulfilment, officer=officer, request_id=request_id)
    return service.request_view(work, fulfilment=fulfilment, request=request)


@router.post(
    "/v1/dsr/{request_id}/reject", response_model=RequestView, summary="Refuse a request, saying why"
)
def reject(
    request_id: RequestId, body: Rejection, officer: Officer, work: WorkDep, fulfilment: FulfilmentDep
) -> RequestView:
    request = service.reject_request(
        work,
        fulfilment=fulfilment,
        officer=officer,
        request_id=request_id,
        reason=body.reason,
        detail=body.detail,
    )
    return service.request_view(work, fulfilment=fulfilment, request=request)


@router.post(
    "/v1/dsr/{request_id}/extend",
    response_model=RequestView,
    summary="Take the further time the law allows, once, saying why",
    description=(
        "The new `due_at` counts the jurisdiction's extension from the end of the first period; the subject "
        "is told at once, with the reason (an `extended` notice). 409 `extension_not_allowed` where the "
        "jurisdiction allows none, once the first period has passed, when already extended, or once the "
        "request has ended."
    ),
)
def extend(
    request_id: RequestId, body: Extension, officer: Officer, work: WorkDep, fulfilment: FulfilmentDep
) -> RequestView:
    request = service.extend_request(
        work, fulfilment=fulfilment, officer=officer, request_id=request_id, reason=body.reason
    )
    return service.request_view(work, fulfilment=fulfilment, request=request)


@router.get(
    "/v1/dsr/{request_id}/export",
    summary="The export bundle of a completed access request (a ZIP)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {MEDIA_TYPE: {}},
            "description": "The bundle, streamed as its sealed segments are opened; `Digest` is its SHA-256 "
            "and `Content-Length` its size, so a client can tell a download cut short.",
        }
    },
)
def export(
    request_id: RequestId,
    caller: PrincipalDep,
    work: WorkDep,
    workplace: WorkplaceDep,
    fulfilment: FulfilmentDep,
) -> StreamingResponse:
    # Recorded in the request's transaction, which commits before the first byte is streamed.
    download = download_export(work, fulfilment=fulfilment, principal=caller, request_id=request_id)
    return StreamingResponse(
        bundle_content(workplace, download), media_type=MEDIA_TYPE, headers=download.headers()
    )


async def raw_body(request: Request) -> bytes:
    """The body exactly as sent: the signature covers these bytes, so no model parses them first."""
    return await request.body()


@router.post(
    "/v1/dsr/callbacks/{task_id}",
    response_model=CallbackAnswer,
    summary="A downstream system completes its task (Standard Webhooks signature, no token)",
)
def callback(
    task_id: RequestId,
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
    work: WorkDep,
    fulfilment: FulfilmentDep,
) -> CallbackAnswer:
    task = receive_callback(
        work, fulfilment=fulfilment, task_id=task_id, headers=dict(request.headers), body=body
    )
    return CallbackAnswer(task_id=task.id, status=TaskStatus(task.status))
