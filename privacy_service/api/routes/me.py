"""The signed-in user's own account: profile, second factor, password, sessions."""

from __future__ import annotations

from fastapi import APIRouter, status

from privacy_service.api.deps import CredentialsDep, CurrentUser, WorkDep
from privacy_service.api.paging import DEFAULT_PAGE_SIZE, Cursor, Limit, page_position
from privacy_service.core.cursors import Position, encode_cursor
from privacy_service.identity import accounts, mfa
from privacy_service.identity.schemas import (
    CodeRequest,
    PasswordChange,
    RecoveryCodesView,
    SessionItem,
    SessionList,
    TotpEnrolmentView,
)
from privacy_service.identity.sessions import SessionPosition, SessionView, list_sessions, revoke_session
from privacy_service.vault import service as vault
from privacy_service.vault.schemas import ProfileFields, ProfileUpdate

router = APIRouter(tags=["me"])


@router.get("/v1/me/profile", response_model=ProfileFields, summary="My profile")
def my_profile(me: CurrentUser, work: WorkDep) -> ProfileFields:
    return vault.read_profile(work, subject_id=me.id)


@router.patch("/v1/me/profile", response_model=ProfileFields, summary="Change fields of my profile")
def change_my_profile(
    body: ProfileUpdate, me: CurrentUser, work: WorkDep, credentials: CredentialsDep
) -> ProfileFields:
    return vault.update_profile(work, blind_index=credentials.emails, subject_id=me.id, changes=body)


@router.post("/v1/me/mfa/totp", response_model=TotpEnrolmentView, summary="Start TOTP enrolment")
def start_totp(me: CurrentUser, work: WorkDep, credentials: CredentialsDep) -> TotpEnrolmentView:
    profile = vault.read_profile(work, subject_id=me.id)
    enrolment = mfa.start_totp_enrolment(
        work, user_id=me.id, account_name=profile.email, issuer=credentials.totp_issuer
    )
    return TotpEnrolmentView(
        secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
    )


@router.post(
    "/v1/me/mfa/totp/confirm", response_model=RecoveryCodesView, summary="Turn TOTP on with a first code"
)
def confirm_totp(
    body: CodeRequest, me: CurrentUser, work: WorkDep, credentials: CredentialsDep
) -> RecoveryCodesView:
    codes = mfa.confirm_totp(work, recovery=credentials.recovery, user_id=me.id, code=body.code)
    return RecoveryCodesView(recovery_codes=codes)


@router.delete("/v1/me/mfa/totp", status_code=status.HTTP_204_NO_CONTENT, summary="Turn TOTP off")
def disable_totp(body: CodeRequest, me: CurrentUser, work: WorkDep, credentials: CredentialsDep) -> None:
    mfa.disable_totp(
        work,
        recovery=credentials.recovery,
        throttle=credentials.throttle(work),
        user_id=me.id,
        client_id=me.client_id,
        code=body.code,
    )


@router.post("/v1/me/password", status_code=status.HTTP_204_NO_CONTENT, summary="Change my password")
def change_password(
    body: PasswordChange, me: CurrentUser, work: WorkDep, credentials: CredentialsDep
) -> None:
    accounts.change_password(
        work,
        passwords=credentials.passwords,
        throttle=credentials.throttle(work),
        user_id=me.id,
        current_session_id=me.session_id,
        client_id=me.client_id,
        current_password=body.current_password,
        new_password=body.new_password,
    )


@router.get("/v1/me/sessions", response_model=SessionList, summary="My open sessions")
def my_sessions(
    me: CurrentUser, work: WorkDep, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> SessionList:
    # One more than the page holds: whether it comes back says if there is a next page.
    views = list_sessions(work, user_id=me.id, limit=limit + 1, after=_session_position(cursor))
    views, more = views[:limit], len(views) > limit
    return SessionList(
        next_cursor=_session_cursor(views[-1]) if more else None,
        items=[
            SessionItem(
                id=view.id,
                client_id=view.client_id,
                amr=[str(method) for method in view.amr],
                user_agent=view.user_agent,
                created_at=view.created_at.isoformat(),
                last_used_at=view.last_used_at.isoformat(),
                current=view.id == me.session_id,
            )
            for view in views
        ],
    )


def _session_cursor(view: SessionView) -> str:
    """An opaque cursor naming the position after ``view``; it carries no personal data."""
    return encode_cursor(Position(at=view.last_used_at, id=view.id))


def _session_position(cursor: str | None) -> SessionPosition | None:
    """The position a cursor of ``_session_cursor`` names; a 422 on ``cursor`` for anything else."""
    if cursor is None:
        return None
    position = page_position(cursor)
    return SessionPosition(last_used_at=position.at, id=position.id)


@router.delete(
    "/v1/me/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, summary="End a session"
)
def end_session(session_id: str, me: CurrentUser, work: WorkDep) -> None:
    revoke_session(work, user_id=me.id, session_id=session_id)
