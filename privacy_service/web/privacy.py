"""The privacy center (``/privacy/``): customers sign in, see their data, ask for a copy or its erasure.

Every page calls the services the API calls (``vault``, ``dsr``), as the
signed-in customer, so the same rules hold and the same audit events are
written. Nothing personal is ever in a URL: request ids are the only path
parameters, and a request that is not the visitor's answers 404 as one that
does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import Response, StreamingResponse

from privacy_service.approvals import service as approvals
from privacy_service.dsr import exports, receipts
from privacy_service.dsr import service as dsr
from privacy_service.dsr.errors import RequestNotFound
from privacy_service.dsr.models import DsrRequest
from privacy_service.dsr.systems import systems_taking
from privacy_service.identity import mfa
from privacy_service.identity.clients import FIRST_PARTY_CLIENT_ID
from privacy_service.identity.errors import InvalidCode, NotAuthenticated
from privacy_service.identity.scopes import AuthMethod
from privacy_service.identity.sessions import list_sessions, revoke_session
from privacy_service.policy import RequestType, SystemRequestType
from privacy_service.vault import service as vault
from privacy_service.web import sign_in
from privacy_service.web.pages import enrolment_shown
from privacy_service.web.routing import page_route
from privacy_service.web.visitors import PRIVACY, Visitor, form_poster_in, visitor_in
from privacy_service.work import Work

router = APIRouter(prefix=PRIVACY.root, route_class=page_route(PRIVACY), include_in_schema=False)

RequestId = Annotated[str, Path(min_length=1, max_length=64)]
#: The most requests the overview lists, and sessions and approvals the security page lists.
REQUESTS_SHOWN = 50
SESSIONS_SHOWN = 50
APPROVALS_SHOWN = 20


PageVisitor = Annotated[Visitor, Depends(visitor_in(PRIVACY))]
FormVisitor = Annotated[Visitor, Depends(form_poster_in(PRIVACY))]


def _anyone(work: Work, user_id: str, amr: tuple[AuthMethod, ...]) -> None:
    """The privacy center admits every account: customers, and staff as the subjects they also are."""


# -- signing in and out ------------------------------------------------------------------------------

sign_in.add_sign_in_routes(router, where=PRIVACY, admit=_anyone)


# -- the customer's data and requests ------------------------------------------------------------------


@router.get("/")
def overview(visitor: PageVisitor) -> Response:
    me = visitor.signed_in
    with visitor.work() as work:
        profile = vault.read_profile(work, subject_id=me.id)
        records = {
            category: vault.get_record(work, subject_id=me.id, category=category)
            for category in vault.list_categories(work, subject_id=me.id)
        }
        requests, _ = dsr.list_requests(
            work,
            fulfilment=visitor.fulfilment,
            filters=dsr.RequestFilter(subject_id=me.id),
            limit=REQUESTS_SHOWN,
        )
    return visitor.page("privacy/overview.html", profile=profile, records=records, requests=requests)


@router.get("/requests/new/{request_type}")
def new_request(visitor: PageVisitor, request_type: RequestType) -> Response:
    """What a request of ``request_type`` will do, before the customer confirms it."""
    return _new_request_page(visitor, request_type)


def _new_request_page(
    visitor: Visitor, request_type: RequestType, *, error: str | None = None, status_code: int = 200
) -> Response:
    me = visitor.signed_in
    with visitor.work() as work:
        profile = vault.read_profile(work, subject_id=me.id)
        has_second_factor = mfa.confirmed_factor(session=work.session, user_id=me.id) is not None
        explanation = visitor.fulfilment.policies.explain(
            country=dsr.jurisdiction_country(profile) or "",
            request_type=request_type,
            received_at=work.clock.now(),
        )
        # Every system the request would reach: declared in policies/ or registered through the API.
        systems = systems_taking(
            session=work.session,
            policies=visitor.fulfilment.policies,
            request_type=SystemRequestType(request_type.value),
        )
    return visitor.page(
        "privacy/new_request.html",
        request_type=request_type.value,
        explanation=explanation,
        systems=systems,
        has_second_factor=has_second_factor,
        error=error,
        status_code=status_code,
    )


@router.post("/requests")
def file_request(
    visitor: FormVisitor,
    request_type: Annotated[RequestType, Form(alias="type")],
    code: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """File the request. An erasure takes the confirmation box and, where enrolled, a fresh second factor."""
    me = visitor.signed_in
    if request_type is RequestType.ERASURE and confirm != "yes":
        return visitor.redirect(f"/requests/new/{request_type.value}")
    try:
        with visitor.work() as work:
            if request_type is RequestType.ERASURE and mfa.confirmed_factor(
                session=work.session, user_id=me.id
            ):
                visitor.confirm_second_factor(work, code)
            filed_id = dsr.file_request(
                work, fulfilment=visitor.fulfilment, requester=me, request_type=request_type, subject_id=None
            ).id
            receipt = None
            if request_type is RequestType.ERASURE:  # the account will be gone before the request is
                receipt = receipts.issue_receipt(
                    work, digests=visitor.credentials.digests, request_id=filed_id
                )
    except InvalidCode:
        return _new_request_page(visitor, request_type, error="invalid_code", status_code=401)
    response = visitor.redirect(f"/requests/{filed_id}")
    if receipt is not None:
        visitor.give_receipt(response, receipt, max_age=int(receipts.RECEIPT_LIFETIME.total_seconds()))
    return response


@router.get("/requests/{request_id}")
def request_page(visitor: PageVisitor, request_id: RequestId) -> Response:
    """A request's progress: for its subject, or for the browser holding its receipt (after an erasure)."""
    with visitor.work() as work:
        found = _followed_request(work, visitor, request_id)
        view = dsr.request_view(work, fulfilment=visitor.fulfilment, request=found)
        told = dsr.notices_told(
            work, fulfilment=visitor.fulfilment, request=found, view=view, language=visitor.language.tag
        )
    return visitor.page("privacy/request.html", view=view, told=told)


def _followed_request(work: Work, visitor: Visitor, request_id: str) -> DsrRequest:
    if visitor.session is not None:
        try:
            return dsr.visible_request(session=work.session, principal=visitor.session, request_id=request_id)
        except RequestNotFound:
            if visitor.receipt_token is None:
                raise
    if visitor.receipt_token is None:
        raise NotAuthenticated("Sign in to follow your requests.")
    return receipts.request_by_receipt(
        work, digests=visitor.credentials.digests, receipt=visitor.receipt_token, request_id=request_id
    )


@router.get("/requests/{request_id}/export")
def download(visitor: PageVisitor, request_id: RequestId) -> StreamingResponse:
    """The bundle, streamed; the download is recorded before the first byte."""
    me = visitor.signed_in
    with visitor.work() as work:
        bundle = exports.download_export(
            work, fulfilment=visitor.fulfilment, principal=me, request_id=request_id
        )
    return StreamingResponse(
        exports.bundle_content(visitor.workplace, bundle),
        media_type=exports.MEDIA_TYPE,
        headers=bundle.headers(),
    )


# -- the customer's second factor and sessions -------------------------------------------------------


@router.get("/security")
def security(visitor: PageVisitor) -> Response:
    return _security_page(visitor)


def _security_page(visitor: Visitor, *, status_code: int = 200, error: str | None = None) -> Response:
    me = visitor.signed_in
    with visitor.work() as work:
        has_second_factor = mfa.confirmed_factor(session=work.session, user_id=me.id) is not None
        sessions = list_sessions(work, user_id=me.id, limit=SESSIONS_SHOWN)
        given = approvals.approvals_of(work, subject_id=me.id, limit=APPROVALS_SHOWN)
    return visitor.page(
        "privacy/security.html",
        approvals=given,
        status_code=status_code,
        has_second_factor=has_second_factor,
        sessions=sessions,
        current_session=me.session_id,
        first_party=FIRST_PARTY_CLIENT_ID,
        error=error,
    )


@router.post("/security/totp")
def start_totp(visitor: FormVisitor) -> Response:
    """Show a new TOTP secret as a QR code; it takes effect once confirmed with a first code."""
    me = visitor.signed_in
    with visitor.work() as work:
        profile = vault.read_profile(work, subject_id=me.id)
        enrolment = mfa.start_totp_enrolment(
            work, user_id=me.id, account_name=profile.email, issuer=visitor.credentials.totp_issuer
        )
    return _enrolment_page(visitor, enrolment)


def _enrolment_page(
    visitor: Visitor, enrolment: mfa.TotpEnrolment | None, *, status_code: int = 200, error: str | None = None
) -> Response:
    shown = {"qr_data_uri": None, "secret_groups": None} if enrolment is None else enrolment_shown(enrolment)
    return visitor.page("privacy/totp_enrol.html", status_code=status_code, error=error, **shown)


@router.post("/security/totp/confirm")
def confirm_totp(visitor: FormVisitor, code: Annotated[str, Form(max_length=64)] = "") -> Response:
    me = visitor.signed_in
    try:
        with visitor.work() as work:
            codes = mfa.confirm_totp(
                work, recovery=visitor.credentials.recovery, user_id=me.id, code=code.strip()
            )
    except InvalidCode:
        return _enrolment_page(visitor, None, status_code=401, error="invalid_code")
    return visitor.page("privacy/recovery_codes.html", recovery_codes=codes)


@router.post("/security/totp/remove")
def remove_totp(
    visitor: FormVisitor,
    code: Annotated[str, Form(max_length=64)] = "",
    then: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Turn TOTP off with a current code (or a recovery code); ``then=enrol`` sets up a new one at once."""
    me = visitor.signed_in
    try:
        with visitor.work() as work:
            mfa.disable_totp(
                work,
                recovery=visitor.credentials.recovery,
                throttle=visitor.credentials.throttle(work),
                user_id=me.id,
                client_id=None,  # the pages count per account, not in their client's window
                code=code.strip(),
            )
    except InvalidCode:
        return _security_page(visitor, status_code=401, error="invalid_code")
    if then == "enrol":
        return start_totp(visitor)
    return visitor.redirect("/security")


@router.post("/security/sessions/{session_id}/end")
def end_session(
    visitor: FormVisitor, session_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> Response:
    """End one of the customer's sessions; ending this one signs this browser out."""
    me = visitor.signed_in
    if session_id == me.session_id:
        return sign_in.sign_out(visitor)
    with visitor.work() as work:
        revoke_session(work, user_id=me.id, session_id=session_id)
    return visitor.redirect("/security")
