"""The staff console (``/console/``): the request queue, a request's systems and decision, the audit trail.

Staff only, signed in with their second factor; compliance officers review
requests and the trail (admins are not auditors, as in the API). Every action
is the service call the API makes, so it writes the same audit event: an
approval is ``dsr_approve``, a look at the trail ``audit_read``. Lists page by
keyset (``cursor``), never by offset, so a page deep in a large table costs
what the first one does.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from privacy_service.approvals import service as approvals
from privacy_service.audit.actions import Outcome
from privacy_service.audit.queries import (
    EventFilter,
    InvalidQuery,
    PartyFilter,
    event_cursor,
    event_position,
    list_events,
)
from privacy_service.audit.review import (
    event_item,
    export_filename,
    exported_events,
    record_read,
    verify_trail,
)
from privacy_service.audit.schemas import EXPORT_MEDIA_TYPES, ExportFormat
from privacy_service.core.cursors import InvalidCursor, decode_cursor, encode_cursor
from privacy_service.core.errors import DomainError
from privacy_service.dsr import service as dsr
from privacy_service.dsr.errors import ExtensionNotAllowed, RejectionDetailRequired
from privacy_service.dsr.notices import jurisdiction_named
from privacy_service.dsr.states import RejectionReason, RequestStatus
from privacy_service.identity.scopes import Role
from privacy_service.policy import RequestType
from privacy_service.web import sign_in
from privacy_service.web.routing import page_route
from privacy_service.web.staff import FormVisitor, PageVisitor, Refusal, admit_staff, as_officer, as_staff
from privacy_service.web.visitors import CONSOLE, Visitor

router = APIRouter(prefix=CONSOLE.root, route_class=page_route(CONSOLE), include_in_schema=False)

RequestId = Annotated[str, Path(min_length=1, max_length=64)]
PAGE_SIZE = 50
Text = Annotated[str | None, Query(max_length=200)]
Choice = TypeVar("Choice", bound=StrEnum)


class InvalidFilter(DomainError):
    """A list's filter the console cannot read; the page says which, and shows nothing else."""

    code = "invalid_filter"
    status = 400
    title = "A filter could not be read"


# -- signing in and out ------------------------------------------------------------------------------

sign_in.add_sign_in_routes(router, where=CONSOLE, admit=admit_staff)


@router.get("/")
def home(visitor: PageVisitor) -> Response:
    """An officer's work starts at the queue; an admin's at the console's map of their pages."""
    principal = as_staff(visitor)
    if Role.COMPLIANCE_OFFICER in principal.roles:
        return visitor.redirect("/requests")
    return visitor.page("console/home.html")


# -- the request queue --------------------------------------------------------------------------------


@router.get("/requests")
def request_queue(
    visitor: PageVisitor,
    status: Text = None,
    kind: Annotated[str | None, Query(alias="type", max_length=200)] = None,
    overdue: Annotated[bool, Query()] = False,
    cursor: Text = None,
) -> Response:
    """Requests by due date, overdue and soonest first, with the days each has left.

    The filter form sends every field, blank for "any": a blank is no filter.
    """
    as_officer(visitor)
    try:
        after = None if not cursor else decode_cursor(cursor)
    except InvalidCursor:
        raise InvalidFilter("cursor") from None
    filters = dsr.RequestFilter(
        status=_choice(RequestStatus, status, "status"),
        type=_choice(RequestType, kind, "type"),
        overdue=overdue,
    )
    with visitor.work() as work:
        views, next_position = dsr.list_requests(
            work, fulfilment=visitor.fulfilment, filters=filters, limit=PAGE_SIZE, after=after
        )
        now = work.clock.now()
    return visitor.page(
        "console/requests.html",
        rows=[(view, _days_left(view.due_at, now)) for view in views],
        filters={
            "status": filters.status.value if filters.status else "",
            "type": filters.type.value if filters.type else "",
            "overdue": overdue,
        },
        statuses=[value.value for value in RequestStatus],
        types=[value.value for value in RequestType],
        next_cursor=None if next_position is None else encode_cursor(next_position),
    )


def _days_left(due_at: datetime, now: datetime) -> int:
    """Whole days until ``due_at`` (negative once overdue), as a person counts them on a calendar."""
    return (due_at.date() - now.date()).days


@router.get("/requests/{request_id}")
def request_page(visitor: PageVisitor, request_id: RequestId) -> Response:
    return _request_page(visitor, request_id)


def _request_page(
    visitor: Visitor, request_id: str, *, refusal: Refusal | None = None, form: str | None = None
) -> Response:
    """A request's page; ``refusal`` shown beside the ``form`` ("extend" or "reject") it refused."""
    officer = as_officer(visitor)
    with visitor.work() as work:
        found = dsr.visible_request(session=work.session, principal=officer, request_id=request_id)
        view = dsr.request_view(work, fulfilment=visitor.fulfilment, request=found)
        now = work.clock.now()
        jurisdiction = jurisdiction_named(visitor.fulfilment.policies, found.jurisdiction)
        extension_refused = dsr.extension_refusal(found, policies=visitor.fulfilment.policies, now=now)
    return visitor.page(
        "console/request.html",
        status_code=200 if refusal is None else refusal.status,
        view=view,
        days_left=_days_left(view.due_at, now),
        reasons=[reason.value for reason in RejectionReason],
        law=jurisdiction,
        may_extend=extension_refused is None,
        refusal=refusal,
        refused_form=form,
    )


@router.post("/requests/{request_id}/approve")
def approve(visitor: FormVisitor, request_id: RequestId) -> Response:
    officer = as_officer(visitor)
    with visitor.work() as work:
        dsr.approve_request(work, fulfilment=visitor.fulfilment, officer=officer, request_id=request_id)
    return visitor.redirect(f"/requests/{request_id}")


@router.post("/requests/{request_id}/reject")
def reject(
    visitor: FormVisitor,
    request_id: RequestId,
    reason: Annotated[RejectionReason, Form()],
    detail: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    officer = as_officer(visitor)
    try:
        with visitor.work() as work:
            dsr.reject_request(
                work,
                fulfilment=visitor.fulfilment,
                officer=officer,
                request_id=request_id,
                reason=reason,
                detail=detail.strip() or None,
            )
    except RejectionDetailRequired as refused:
        return _request_page(visitor, request_id, refusal=Refusal.of(refused), form="reject")
    return visitor.redirect(f"/requests/{request_id}")


@router.post("/requests/{request_id}/extend")
def extend(
    visitor: FormVisitor, request_id: RequestId, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    officer = as_officer(visitor)
    if not reason.strip():
        return _request_page(
            visitor,
            request_id,
            refusal=Refusal(code="reason_required", status=422, fields=("reason",)),
            form="extend",
        )
    try:
        with visitor.work() as work:
            dsr.extend_request(
                work,
                fulfilment=visitor.fulfilment,
                officer=officer,
                request_id=request_id,
                reason=reason.strip(),
            )
    except ExtensionNotAllowed as refused:
        return _request_page(visitor, request_id, refusal=Refusal.of(refused), form="extend")
    return visitor.redirect(f"/requests/{request_id}")


# -- the shop's approvals -----------------------------------------------------------------------------


@router.get("/approvals/{approval_id}")
def approval_page(visitor: PageVisitor, approval_id: RequestId) -> Response:
    """An approval a shop event names: its state and times, its client and subject; never its details."""
    as_officer(visitor)
    with visitor.work() as work:
        approval = approvals.read_approval(session=work.session, client_id=None, approval_id=approval_id)
    return visitor.page("console/approval.html", approval=approval)


# -- the audit trail ----------------------------------------------------------------------------------


def _event_filter(
    actor: Text = None,
    action: Text = None,
    target: Text = None,
    outcome: Text = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> EventFilter:
    """The API's filters, from the console's form: blanks are no filter, dates are whole UTC days."""
    try:
        return EventFilter(
            actor=PartyFilter.parse(actor.strip(), field="actor") if actor and actor.strip() else None,
            action=action.strip() if action and action.strip() else None,
            target=PartyFilter.parse(target.strip(), field="target") if target and target.strip() else None,
            outcome=_choice(Outcome, outcome, "outcome"),
            since=_day(since, "since"),
            until=_day(until, "until", end=True),
        )
    except InvalidQuery as error:
        raise InvalidFilter(error.field) from None


def _choice(kind: type[Choice], value: str | None, field: str) -> Choice | None:
    """A filter's value from a form's select: blank is no filter, anything but a listed value is refused."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidFilter(field) from None


def _day(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidFilter(field) from None
    return datetime.combine(day.date(), time.max if end else time.min, tzinfo=UTC)


EventFilters = Annotated[EventFilter, Depends(_event_filter)]


@router.get("/audit")
def audit_trail(
    visitor: PageVisitor, filters: EventFilters, request: Request, cursor: Text = None
) -> Response:
    officer = as_officer(visitor)
    try:
        after = None if not cursor else event_position(cursor)
    except InvalidQuery:
        raise InvalidFilter("cursor") from None
    with visitor.work() as work:
        page = list_events(work, filters=filters, limit=PAGE_SIZE, after=after)
        record_read(work, reader=officer.party, endpoint="console", filters=filters.to_json())
    query = {key: value for key, value in request.query_params.items() if key != "cursor" and value}
    return visitor.page(
        "console/audit.html",
        events=[event_item(view) for view in page.items],
        query=query,
        outcomes=[outcome.value for outcome in Outcome],
        next_cursor=None if page.next_position is None else event_cursor(page.next_position),
        report=None,
    )


@router.get("/audit/export")
def export_audit_trail(visitor: PageVisitor, filters: EventFilters) -> StreamingResponse:
    """Every matching event as CSV, streamed; the read is recorded before the first byte."""
    officer = as_officer(visitor)
    with visitor.work() as work:
        record_read(work, reader=officer.party, endpoint="export", format="csv", filters=filters.to_json())
        filename = export_filename(work.clock.now(), ExportFormat.CSV)
    return StreamingResponse(
        exported_events(visitor.workplace, filters=filters, export_format=ExportFormat.CSV),
        media_type=EXPORT_MEDIA_TYPES[ExportFormat.CSV],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/audit/verify")
def verify(visitor: FormVisitor) -> Response:
    """Run the chain check now and show its result: the first bad ``seq`` and why, or the last checkpoint."""
    officer = as_officer(visitor)
    with visitor.work() as work:
        report = verify_trail(work, settings=visitor.settings, reader=officer.party)
    return visitor.page("console/verify.html", report=report.to_json())
