"""Filing, reading, approving and rejecting data subject requests.

A request and one task per downstream system are written in one transaction
(the transactional outbox), with its ``dsr_create`` event: nothing is sent
for a request that did not commit, and nothing committed is left unsent. The
worker delivers the tasks (``fanout.py``) and ends the request
(``closing.py``). Every function here runs inside the caller's unit of work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, Party, PartyType
from privacy_service.core.cursors import Position
from privacy_service.core.errors import DomainError
from privacy_service.core.ids import new_id
from privacy_service.documents import RetainedFact
from privacy_service.dsr.encryption import EXTENSION_REASON_COLUMN, REJECTION_DETAIL_COLUMN
from privacy_service.dsr.errors import (
    ExtensionNotAllowed,
    InvalidTransition,
    RecentLoginRequired,
    RejectionDetailRequired,
    RequestAlreadyOpen,
    RequestNotFound,
    SecondFactorRequired,
    SubjectIdRequired,
)
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrExport, DsrRequest, DsrTask
from privacy_service.dsr.notices import (
    NoticeDetails,
    jurisdiction_named,
    notice_views,
    render_notice,
    write_notice,
)
from privacy_service.dsr.schemas import (
    ExportLink,
    ExtensionView,
    NoticeView,
    RejectionView,
    RequestView,
    RetainedItem,
    TaskView,
)
from privacy_service.dsr.states import (
    FINAL_REQUEST_STATUSES,
    REQUEST_TRANSITIONS,
    NoticeKind,
    RejectionReason,
    RequestStatus,
    TaskStatus,
)
from privacy_service.dsr.systems import systems_taking
from privacy_service.identity.errors import Forbidden
from privacy_service.identity.mfa import confirmed_factor
from privacy_service.identity.models import UserSession
from privacy_service.identity.principals import Principal
from privacy_service.keys.errors import SubjectKeyDestroyed
from privacy_service.keys.fields import SubjectFields
from privacy_service.policy import Policies, RequestType, SystemRequestType
from privacy_service.vault import service as vault
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work


def dsr_party(request_id: str) -> Party:
    return Party(type=PartyType.DSR, id=request_id)


def jurisdiction_country(profile: ProfileFields) -> str | None:
    """The country whose law governs the subject: ``country``, or ``US-CA`` from a US profile's region."""
    country = profile.country
    region = profile.extra.get("region") if isinstance(profile.extra, dict) else None
    if country and isinstance(region, str) and region.strip():
        return f"{country}-{region.strip().upper()}"
    return country


def file_request(
    work: Work,
    *,
    fulfilment: Fulfilment,
    requester: Principal,
    request_type: RequestType,
    subject_id: str | None,
) -> DsrRequest:
    """File a request for a subject, with its tasks, and record ``dsr_create``.

    A customer files for themself, signed in recently (and with their second
    factor when they have one); a shop backend files on a subject's behalf.
    """
    subject_id = _requested_subject(work, fulfilment=fulfilment, requester=requester, subject_id=subject_id)
    profile = vault.read_profile(work, subject_id=subject_id)
    _refuse_a_second_open_request(session=work.session, subject_id=subject_id, request_type=request_type)
    country = jurisdiction_country(profile)
    jurisdiction = fulfilment.policies.jurisdiction_for(country)
    now = work.clock.now()
    needs_approval = fulfilment.policies.needs_approval(jurisdiction=jurisdiction, request_type=request_type)
    request = DsrRequest(
        id=new_id(),
        type=request_type.value,
        status=(RequestStatus.AWAITING_APPROVAL if needs_approval else RequestStatus.RECEIVED).value,
        subject_id=subject_id,
        jurisdiction=jurisdiction.code,
        received_at=now,
        due_at=fulfilment.policies.due_at(received_at=now, jurisdiction=jurisdiction, country=country),
        extended=False,
        filed_by_type=requester.party.type.value,
        filed_by_id=requester.id,
        client_id=requester.client_id,
    )
    work.session.add(request)
    names = systems_taking(
        session=work.session, policies=fulfilment.policies, request_type=SystemRequestType(request_type.value)
    )
    for name in names:
        task_id = new_id()
        work.session.add(
            DsrTask(
                id=task_id,
                request_id=request.id,
                system=name,
                status=TaskStatus.PENDING.value,
                webhook_id=f"msg_{task_id}",
                attempts=0,
                next_attempt_at=now,
            )
        )
    work.session.flush()
    if not needs_approval and names:
        work.after_commit(fulfilment.new_tasks.notify)  # a worker in this process starts at once
    write_notice(work, fulfilment=fulfilment, request=request, kind=NoticeKind.ACKNOWLEDGED)
    audit.record(
        work,
        actor=requester.party,
        action=Action.DSR_CREATE,
        target=dsr_party(request.id),
        outcome=Outcome.SUCCESS,
        details={
            "type": request_type.value,
            "jurisdiction": jurisdiction.code,
            "systems": len(names),
            "awaiting_approval": needs_approval,
        },
    )
    return request


def _refuse_a_second_open_request(*, session: Session, subject_id: str, request_type: RequestType) -> None:
    """Raise ``RequestAlreadyOpen`` while the subject has a request of this type that has not ended.

    The subject's row is held first, so two filings at once cannot both find none.
    """
    vault.lock_subject(session=session, subject_id=subject_id)
    open_id = session.scalar(
        select(DsrRequest.id)
        .where(
            DsrRequest.subject_id == subject_id,
            DsrRequest.type == request_type.value,
            DsrRequest.status.not_in([status.value for status in FINAL_REQUEST_STATUSES]),
        )
        .limit(1)
    )
    if open_id is not None:
        raise RequestAlreadyOpen(
            f"Request {open_id} of this type is still open; follow it at GET /v1/dsr/{open_id}.",
            open_request_id=open_id,
        )


def _requested_subject(
    work: Work, *, fulfilment: Fulfilment, requester: Principal, subject_id: str | None
) -> str:
    if not requester.is_user:
        if subject_id is None:
            raise SubjectIdRequired()
        return subject_id
    if subject_id is not None and subject_id != requester.id:
        raise Forbidden("A customer files requests for themself only.")
    login = work.session.get(UserSession, requester.session_id) if requester.session_id else None
    if login is None or login.created_at < work.clock.now() - fulfilment.recent_login:
        minutes = int(fulfilment.recent_login.total_seconds() // 60)
        raise RecentLoginRequired(f"Requests need a sign-in of the last {minutes} minutes.")
    if not requester.has_second_factor and confirmed_factor(session=work.session, user_id=requester.id):
        raise SecondFactorRequired()
    return requester.id


def may_see(request: DsrRequest, principal: Principal) -> bool:
    """The subject, staff signed in with a second factor, and the shop involved may see a request.

    The shop is the client that filed it or that the customer filed it through: after an erasure the
    customer's account is gone, and the shop shows them what its systems keep back and why.
    """
    if principal.is_user:
        if principal.id == request.subject_id:
            return True
        return principal.is_staff and principal.has_second_factor
    return request.client_id == principal.id


def visible_request(*, session: Session, principal: Principal, request_id: str) -> DsrRequest:
    """The request, or RequestNotFound also when the caller may not see it (its existence is not told)."""
    request = session.get(DsrRequest, request_id)
    if request is None or not may_see(request, principal):
        raise RequestNotFound()
    return request


def request_view(work: Work, *, fulfilment: Fulfilment, request: DsrRequest) -> RequestView:
    tasks = work.session.scalars(
        select(DsrTask).where(DsrTask.request_id == request.id).order_by(DsrTask.system)
    ).all()
    exports = _live_exports(work, requests=[request])
    return _view(
        work,
        fulfilment=fulfilment,
        request=request,
        tasks=list(tasks),
        notices=notice_views(work, request_ids=[request.id])[request.id],
        export_until=exports.get(request.id),
    )


def _live_exports(work: Work, *, requests: list[DsrRequest]) -> dict[str, datetime]:
    """When the downloadable bundle of each of these requests expires, for those that have one.

    Only a completed access request can have one: for no such request, nothing is read. Reads the
    expiry only: the bundles themselves (encrypted ZIPs) stay in the database.
    """
    request_ids = [
        request.id
        for request in requests
        if RequestType(request.type) is RequestType.ACCESS
        and RequestStatus(request.status) in {RequestStatus.COMPLETED, RequestStatus.PARTIALLY_COMPLETED}
    ]
    if not request_ids:
        return {}
    rows = work.session.execute(
        select(DsrExport.request_id, DsrExport.expires_at).where(
            DsrExport.request_id.in_(request_ids),
            DsrExport.bundle.is_not(None),
            DsrExport.expires_at > work.clock.now(),
        )
    )
    return {row.request_id: row.expires_at for row in rows}


def _view(
    work: Work,
    *,
    fulfilment: Fulfilment,
    request: DsrRequest,
    tasks: list[DsrTask],
    notices: list[NoticeView],
    export_until: datetime | None,
) -> RequestView:
    status = RequestStatus(request.status)
    rejection = None
    if request.rejection_reason is not None and request.decided_at is not None:
        rejection = RejectionView(
            reason=RejectionReason(request.rejection_reason),
            detail=_opened(
                work, request=request, column=REJECTION_DETAIL_COLUMN, value=request.rejection_detail
            ),
            at=request.decided_at,
        )
    export = None
    if export_until is not None:
        export = ExportLink(
            url=f"{fulfilment.public_url}/v1/dsr/{request.id}/export", expires_at=export_until
        )
    return RequestView(
        id=request.id,
        type=RequestType(request.type),
        status=status,
        subject_id=request.subject_id,
        jurisdiction=request.jurisdiction,
        received_at=request.received_at,
        due_at=request.due_at,
        extended=request.extended,
        overdue=status not in FINAL_REQUEST_STATUSES and request.due_at < work.clock.now(),
        completed_at=request.completed_at,
        tasks=[_task_view(task) for task in tasks],
        notices=notices,
        extension=_extension_view(work, request=request),
        rejection=rejection,
        export=export,
    )


def _task_view(task: DsrTask) -> TaskView:
    return TaskView(
        id=task.id,
        system=task.system,
        status=TaskStatus(task.status),
        attempts=task.attempts,
        last_error=task.last_error,
        completed_at=task.completed_at,
        retained=[RetainedItem.model_validate(item) for item in retained_items(task)],
    )


def retained_items(task: DsrTask) -> list[dict[str, str | None]]:
    if not task.retained:
        return []
    items: list[dict[str, str | None]] = json.loads(task.retained)
    return items


def _extension_view(work: Work, *, request: DsrRequest) -> ExtensionView | None:
    if not request.extended or request.extended_at is None:
        return None
    reason = _opened(work, request=request, column=EXTENSION_REASON_COLUMN, value=request.extension_reason)
    return ExtensionView(at=request.extended_at, reason=reason)


def _opened(work: Work, *, request: DsrRequest, column: str, value: bytes | None) -> str | None:
    """An officer's words kept on the request, in plaintext; None when absent or the subject was erased."""
    if value is None:
        return None
    try:
        return _subject_fields(work, request=request).open(column, value)
    except SubjectKeyDestroyed:
        return None


def _subject_fields(work: Work, *, request: DsrRequest) -> SubjectFields:
    """The request's subject's fields of ``dsr_requests``: what officers write about them is theirs."""
    return work.subject_fields(table=DsrRequest.__tablename__, subject_id=request.subject_id)


@dataclass(frozen=True)
class ToldNotice:
    """A notice as the subject reads it again in the privacy center."""

    view: NoticeView
    subject_line: str
    text: str


def notices_told(
    work: Work, *, fulfilment: Fulfilment, request: DsrRequest, view: RequestView, language: str
) -> list[ToldNotice]:
    """What the subject was told about ``request``, written again in ``language`` for them to read.

    The delivered message itself is not kept (it is dropped once the mailer has it); the same facts,
    read from the request's ``view``, give the same text. Empty once the subject is gone.
    """
    try:
        profile = vault.read_profile(work, subject_id=request.subject_id)
    except DomainError:  # erased, or unknown: nobody to read it
        return []
    details = NoticeDetails(
        extension_reason=view.extension.reason if view.extension else None,
        rejection_reason=request.rejection_reason,
        rejection_detail=view.rejection.detail if view.rejection else None,
        export_until=view.export.expires_at if view.export else None,
        retained=tuple(
            RetainedFact(system=task.system, category=item.category, reason=item.reason, until=item.until)
            for task in view.tasks
            for item in task.retained
        ),
    )
    told: list[ToldNotice] = []
    for notice in view.notices:
        rendered = render_notice(
            fulfilment, request=request, profile=profile, kind=notice.kind, details=details, language=language
        )
        told.append(ToldNotice(view=notice, subject_line=rendered.subject_line, text=rendered.text))
    return told


@dataclass(frozen=True)
class RequestFilter:
    status: RequestStatus | None = None
    type: RequestType | None = None
    overdue: bool = False
    subject_id: str | None = None  # one subject's requests: what the privacy center shows them


def list_requests(
    work: Work, *, fulfilment: Fulfilment, filters: RequestFilter, limit: int, after: Position | None = None
) -> tuple[list[RequestView], Position | None]:
    """An officer's queue: requests by due date, the most urgent first; the position of a next page."""
    query = select(DsrRequest).order_by(DsrRequest.due_at, DsrRequest.id)
    if filters.status is not None:
        query = query.where(DsrRequest.status == filters.status.value)
    if filters.type is not None:
        query = query.where(DsrRequest.type == filters.type.value)
    if filters.subject_id is not None:
        query = query.where(DsrRequest.subject_id == filters.subject_id)
    if filters.overdue:
        query = query.where(
            DsrRequest.due_at < work.clock.now(),
            DsrRequest.status.not_in([status.value for status in FINAL_REQUEST_STATUSES]),
        )
    if after is not None:
        # A row comparison, which the (due_at, id) index answers as a range: a deep page costs a first one.
        query = query.where(tuple_(DsrRequest.due_at, DsrRequest.id) > (after.at, after.id))
    rows = list(work.session.scalars(query.limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    tasks_by_request: dict[str, list[DsrTask]] = {row.id: [] for row in rows}
    if rows:
        for task in work.session.scalars(
            select(DsrTask).where(DsrTask.request_id.in_(list(tasks_by_request))).order_by(DsrTask.system)
        ):
            tasks_by_request[task.request_id].append(task)
    exports = _live_exports(work, requests=rows)
    notices = notice_views(work, request_ids=[row.id for row in rows])
    views = [
        _view(
            work,
            fulfilment=fulfilment,
            request=row,
            tasks=tasks_by_request[row.id],
            notices=notices[row.id],
            export_until=exports.get(row.id),
        )
        for row in rows
    ]
    next_position = Position(at=rows[-1].due_at, id=rows[-1].id) if more else None
    return views, next_position


def move(request: DsrRequest, to: RequestStatus) -> None:
    """Change a request's status along an allowed transition, or InvalidTransition."""
    current = RequestStatus(request.status)
    if to not in REQUEST_TRANSITIONS[current]:
        raise InvalidTransition(f"A request that is {current.value} cannot become {to.value}.")
    request.status = to.value


def _locked_request(*, session: Session, request_id: str) -> DsrRequest:
    request = session.scalar(select(DsrRequest).where(DsrRequest.id == request_id).with_for_update())
    if request is None:
        raise RequestNotFound()
    return request


def approve_request(work: Work, *, fulfilment: Fulfilment, officer: Principal, request_id: str) -> DsrRequest:
    """An officer lets a request that awaits approval go ahead: its tasks become deliverable."""
    request = _locked_request(session=work.session, request_id=request_id)
    if RequestStatus(request.status) is not RequestStatus.AWAITING_APPROVAL:
        raise InvalidTransition("Only a request awaiting approval can be approved.")
    move(request, RequestStatus.IN_PROGRESS)
    request.decided_by, request.decided_at = officer.id, work.clock.now()
    work.after_commit(fulfilment.new_tasks.notify)
    audit.record(
        work,
        actor=officer.party,
        action=Action.DSR_APPROVE,
        target=dsr_party(request.id),
        outcome=Outcome.SUCCESS,
    )
    return request


def reject_request(
    work: Work,
    *,
    fulfilment: Fulfilment,
    officer: Principal,
    request_id: str,
    reason: RejectionReason,
    detail: str | None,
) -> DsrRequest:
    """An officer refuses a request before any system was asked; its tasks are cancelled.

    The subject is told why, with where they can complain: ``other`` needs the officer's ``detail``.
    """
    if reason is RejectionReason.OTHER and not (detail and detail.strip()):
        raise RejectionDetailRequired()
    request = _locked_request(session=work.session, request_id=request_id)
    move(request, RequestStatus.REJECTED)
    now = work.clock.now()
    request.decided_by, request.decided_at, request.completed_at = officer.id, now, now
    request.rejection_reason = reason.value
    if detail:
        request.rejection_detail = _subject_fields(work, request=request).encrypt(
            REJECTION_DETAIL_COLUMN, detail
        )
    for task in work.session.scalars(select(DsrTask).where(DsrTask.request_id == request.id)):
        task.status = TaskStatus.CANCELLED.value
        task.lease_until = None
    audit.record(
        work,
        actor=officer.party,
        action=Action.DSR_REJECT,
        target=dsr_party(request.id),
        outcome=Outcome.SUCCESS,
        details={"reason": reason.value},
    )
    write_notice(
        work,
        fulfilment=fulfilment,
        request=request,
        kind=NoticeKind.REJECTED,
        details=NoticeDetails(rejection_reason=reason.value, rejection_detail=detail or None),
    )
    return request


def extension_refusal(request: DsrRequest, *, policies: Policies, now: datetime) -> str | None:
    """Why ``request`` cannot be extended now, in a sentence for an officer; None when it can."""
    if RequestStatus(request.status).is_final:
        return "The request has ended; there is nothing left to extend."
    refusal = policies.extension_refusal(
        first_due_at=request.due_at,
        jurisdiction=jurisdiction_named(policies, request.jurisdiction),
        extended=request.extended,
        now=now,
    )
    return None if refusal is None else f"{refusal.detail[0].upper()}{refusal.detail[1:]}."


def extend_request(
    work: Work, *, fulfilment: Fulfilment, officer: Principal, request_id: str, reason: str
) -> DsrRequest:
    """An officer takes the further time the law allows, once, saying why; the subject is told at once.

    Refused (``ExtensionNotAllowed``) where the jurisdiction has no extension, once the first period has
    ended, when the request was extended already or has ended.
    """
    request = _locked_request(session=work.session, request_id=request_id)
    now = work.clock.now()
    refusal = extension_refusal(request, policies=fulfilment.policies, now=now)
    if refusal is not None:
        raise ExtensionNotAllowed(refusal)
    jurisdiction = jurisdiction_named(fulfilment.policies, request.jurisdiction)
    country = jurisdiction_country(vault.read_profile(work, subject_id=request.subject_id))
    extended_due_at = fulfilment.policies.extended_due_at(
        first_due_at=request.due_at, jurisdiction=jurisdiction, country=country
    )
    if extended_due_at is None:  # the law has no extension, which extension_refusal has said already
        raise ExtensionNotAllowed()
    request.due_at = extended_due_at
    request.extended, request.extended_at, request.extended_by = True, now, officer.id
    request.extension_reason = _subject_fields(work, request=request).encrypt(EXTENSION_REASON_COLUMN, reason)
    audit.record(
        work,
        actor=officer.party,
        action=Action.DSR_EXTEND,
        target=dsr_party(request.id),
        outcome=Outcome.SUCCESS,
        details={"jurisdiction": jurisdiction.code, "due_at": request.due_at.isoformat()},
    )
    write_notice(
        work,
        fulfilment=fulfilment,
        request=request,
        kind=NoticeKind.EXTENDED,
        details=NoticeDetails(extension_reason=reason),
    )
    return request
