"""Approvals: asked for by a shop, confirmed with the customer's current TOTP code, used once.

An approval goes ``pending`` → ``approved`` (the right code) → ``used`` (the
event that records the operation consumed its token). It is ``refused`` after
``MAX_WRONG_CODES`` wrong codes and ``expired`` once its time ran out, pending
or unused; the worker's sweep records the expiry. Every step is an audit event
naming the subject, so the operation's details in it are encrypted under the
subject's key, as they are in the approval's row.

The code is checked as a login's is (``identity.mfa``): each TOTP step once,
across logins and approvals alike, and every wrong code a failed attempt of
the account under the login throttle, so a shop cannot guess its way through
approvals it keeps asking for. Recovery codes restore an account; they approve
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from privacy_service.approvals.models import DETAILS_COLUMN, Approval
from privacy_service.approvals.operations import NoCanonicalForm, Operation
from privacy_service.approvals.states import ApprovalStatus
from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, client_party, user_party
from privacy_service.core.errors import Conflict, DomainError, NotFound
from privacy_service.core.ids import new_id
from privacy_service.identity import mfa
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import InvalidCode, InvalidToken, MfaNotEnabled
from privacy_service.identity.models import User
from privacy_service.keys.fields import SubjectFields
from privacy_service.work import Work

#: RFC 8725 §3.11: its own ``typ``, so an approval token never passes for an access token, nor one for it.
APPROVAL_TOKEN_TYPE: Final = "approval+jwt"  # noqa: S105 - a media type, not a secret
#: Wrong codes an approval takes before it is refused.
MAX_WRONG_CODES: Final = 5
#: The longest an approval token lives (API.md: ``exp`` at most 5 minutes after ``iat``).
TOKEN_SECONDS: Final = 300


class ApprovalNotFound(NotFound):
    """No approval has this id for this caller (another client's answers as one that does not exist)."""

    code = "approval_not_found"
    title = "No such approval"


class ApprovalNotPending(Conflict):
    """The approval was already confirmed, refused, used, or it expired: a new one must be asked for."""

    code = "approval_not_pending"
    title = "The approval can no longer be confirmed"


class SubjectWithoutSecondFactor(Conflict):
    """The customer has no authenticator enrolled: nothing can approve an operation for them."""

    code = "second_factor_not_enrolled"
    title = "The subject has no second factor to approve with"


class ApprovalTokenRefused(DomainError):
    """An approval token that does not authorise this operation: invalid, expired, another client's,
    already used, or for another operation. ``detail`` says which, never the token."""

    code = "approval_token_refused"
    status = 403
    title = "The approval token does not authorise this operation"


@dataclass(frozen=True)
class ApprovalView:
    id: str
    client_id: str
    subject_id: str
    status: ApprovalStatus
    operation_digest: str
    created_at: datetime
    expires_at: datetime
    approved_at: datetime | None
    used_at: datetime | None


def request_approval(
    work: Work, *, client_id: str, subject_id: str, operation: Operation, lifetime: timedelta
) -> ApprovalView:
    """A pending approval of ``operation`` for ``subject_id``, to be confirmed within ``lifetime``.

    Raises ``SubjectWithoutSecondFactor`` for a subject with no confirmed TOTP (or no account): the
    shop learns at once that it must fall back on its own checks, not after the customer tried.
    """
    user = work.session.get(User, subject_id)
    if user is None or user.disabled_at is not None:
        raise SubjectWithoutSecondFactor()
    if mfa.confirmed_factor(session=work.session, user_id=subject_id) is None:
        raise SubjectWithoutSecondFactor()
    now = work.clock.now()
    approval = Approval(
        id=new_id(),
        client_id=client_id,
        subject_id=subject_id,
        action=operation.action,
        target_type=operation.target_type,
        target_id=operation.target_id,
        details=_fields(work, subject_id=subject_id).encrypt_json(DETAILS_COLUMN, dict(operation.details)),
        operation_digest=operation.digest(),
        status=ApprovalStatus.PENDING.value,
        wrong_codes=0,
        created_at=now,
        expires_at=now + lifetime,
    )
    work.session.add(approval)
    _record(work, approval, Action.APPROVAL_REQUEST, details={"operation": operation.to_json()})
    return _view(approval)


def confirm_approval(
    work: Work, *, credentials: Credentials, client_id: str, approval_id: str, code: str
) -> str:
    """Check the subject's current TOTP code and answer the approval token; a wrong code counts.

    The token is a JWT signed with the access tokens' keys (the JWKS verifies it) with ``typ``
    ``approval+jwt``, ``sub``, ``aud`` (the client), ``iat``, ``exp``, ``jti``, ``amr: ["otp"]``,
    ``auth_time`` and ``op``, the operation's digest.
    """
    approval = _approval_for(work, client_id=client_id, approval_id=approval_id, lock=True)
    now = work.clock.now()
    if approval.status == ApprovalStatus.PENDING and approval.expires_at <= now:
        _expire(work, approval)
        work.keep_when_refused()
    if approval.status != ApprovalStatus.PENDING:
        raise ApprovalNotPending(f"The approval is {approval.status}.")
    try:
        mfa.verify_second_factor_throttled(
            work,
            recovery=None,  # the authenticator's code only
            throttle=credentials.throttle(work),
            user_id=approval.subject_id,
            client_id=client_id,
            ip=None,
            code=code,
        )
    except InvalidCode:
        approval.wrong_codes += 1
        if approval.wrong_codes >= MAX_WRONG_CODES:
            approval.status = ApprovalStatus.REFUSED.value
            _record(work, approval, Action.APPROVAL_REFUSE, outcome=Outcome.FAILURE)
        raise  # the throttle kept its count; the approval's is kept with it (``keep_when_refused``)
    except MfaNotEnabled:
        raise SubjectWithoutSecondFactor() from None  # removed since the approval was asked for
    # The shop has the token's whole life to perform the operation, however late in the approval's
    # window the customer typed the code: confirming opens that time, it does not share the window's.
    lifetime = min(TOKEN_SECONDS, credentials.tokens.access_token_seconds)
    signed = credentials.tokens.signed_jwt(
        session=work.session,
        token_type=APPROVAL_TOKEN_TYPE,
        claims={
            "sub": approval.subject_id,
            "aud": client_id,
            "amr": ["otp"],
            "auth_time": int(now.timestamp()),
            "op": approval.operation_digest,
        },
        lifetime_seconds=lifetime,
    )
    approval.status = ApprovalStatus.APPROVED.value
    approval.approved_at = now
    approval.expires_at = now + timedelta(seconds=lifetime)
    approval.token_id = signed.jti
    _record(work, approval, Action.APPROVAL_CONFIRM)
    return signed.token


@dataclass(frozen=True)
class GivenApproval:
    """An approval as its subject sees it in the privacy center: the operation, decrypted for them."""

    id: str
    status: ApprovalStatus
    operation: Operation
    created_at: datetime


def approvals_of(work: Work, *, subject_id: str, limit: int) -> list[GivenApproval]:
    """The subject's latest approvals, newest first, each operation's details opened with their key."""
    rows = work.session.scalars(
        select(Approval)
        .where(Approval.subject_id == subject_id)
        .order_by(Approval.created_at.desc(), Approval.id.desc())
        .limit(limit)
    ).all()
    fields = _fields(work, subject_id=subject_id) if rows else None
    return [
        GivenApproval(
            id=row.id,
            status=ApprovalStatus(row.status),
            operation=Operation(
                action=row.action,
                target_type=row.target_type,
                target_id=row.target_id,
                details=fields.open_json(DETAILS_COLUMN, row.details) if fields and row.details else {},
            ),
            created_at=row.created_at,
        )
        for row in rows
    ]


def read_approval(*, session: Session, client_id: str | None, approval_id: str) -> ApprovalView:
    """The approval as its client (``client_id``) or staff (None) see it; never its details."""
    approval = session.get(Approval, approval_id)
    if approval is None or (client_id is not None and approval.client_id != client_id):
        raise ApprovalNotFound()
    return _view(approval)


def use_approval(
    work: Work, *, credentials: Credentials, client_id: str, token: str, operation: Operation
) -> str:
    """Consume the approval ``token`` names for ``operation``, in ``work`` (the event's unit of work); its id.

    The token must verify (signature, ``typ``, not expired), be this client's (``aud``), name this
    very operation (``op``), and its approval must be approved and unused: one conditional UPDATE
    marks it used, so of two concurrent uses exactly one succeeds. Raises ``ApprovalTokenRefused``.
    """
    try:
        claims = credentials.tokens.verify_jwt(
            session=work.session, token=token, token_type=APPROVAL_TOKEN_TYPE, audience=client_id
        )
    except InvalidToken as error:
        raise ApprovalTokenRefused(f"The approval token is not valid: {error.detail}.") from None
    try:
        digest = operation.digest()
    except NoCanonicalForm:
        digest = None  # details no approval could have been asked for (``schemas.OperationBody``)
    if claims.get("op") != digest:
        raise ApprovalTokenRefused("The approval is for another operation.")
    now = work.clock.now()
    used = work.session.execute(
        update(Approval)
        .where(
            Approval.token_id == str(claims.get("jti")),
            Approval.client_id == client_id,
            Approval.status == ApprovalStatus.APPROVED.value,
            Approval.expires_at > now,
        )
        .values(status=ApprovalStatus.USED.value, used_at=now)
        .returning(Approval.id)
    ).scalar_one_or_none()
    if used is None:
        raise ApprovalTokenRefused("The approval was already used, or has expired.")
    approval = work.session.get_one(Approval, used)
    _record(work, approval, Action.APPROVAL_USE)
    return used


def expire_approvals(work: Work, *, limit: int = 500) -> int:
    """The worker's sweep: approvals whose time ran out, pending or approved and unused, are ``expired``."""
    due = work.session.scalars(
        select(Approval)
        .where(
            Approval.status.in_([ApprovalStatus.PENDING.value, ApprovalStatus.APPROVED.value]),
            Approval.expires_at <= work.clock.now(),
        )
        .order_by(Approval.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for approval in due:
        _expire(work, approval)
    return len(due)


def _expire(work: Work, approval: Approval) -> None:
    approval.status = ApprovalStatus.EXPIRED.value
    _record(work, approval, Action.APPROVAL_EXPIRE, actor=SYSTEM, outcome=Outcome.FAILURE)


def _approval_for(work: Work, *, client_id: str, approval_id: str, lock: bool) -> Approval:
    approval = work.session.get(Approval, approval_id, with_for_update=lock)
    if approval is None or approval.client_id != client_id:
        raise ApprovalNotFound()
    return approval


def _fields(work: Work, *, subject_id: str) -> SubjectFields:
    return work.subject_fields(table=Approval.__tablename__, subject_id=subject_id)


def _record(
    work: Work,
    approval: Approval,
    action: Action,
    *,
    actor: Party | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> None:
    """An approval's step in the trail: the client acts on the subject (whose key encrypts the details)."""
    audit.record(
        work,
        actor=actor or client_party(approval.client_id),
        action=action,
        target=user_party(approval.subject_id),
        outcome=outcome,
        details={
            "approval_id": approval.id,
            "operation_digest": approval.operation_digest,
            **(details or {}),
        },
    )


def _view(approval: Approval) -> ApprovalView:
    return ApprovalView(
        id=approval.id,
        client_id=approval.client_id,
        subject_id=approval.subject_id,
        status=ApprovalStatus(approval.status),
        operation_digest=approval.operation_digest,
        created_at=approval.created_at,
        expires_at=approval.expires_at,
        approved_at=approval.approved_at,
        used_at=approval.used_at,
    )
