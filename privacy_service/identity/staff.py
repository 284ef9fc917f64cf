"""Staff accounts: compliance officers and admins, created with their second factor already enrolled.

An operator at the console creates, lists, disables and re-enrols staff. A
disabled account keeps its subject, roles and audit trail, so what it did
stays attributable; it can no longer sign in, and its sessions have ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, user_party
from privacy_service.core.errors import NotFound
from privacy_service.crypto import BlindIndex
from privacy_service.identity import accounts, mfa
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.models import MfaChallenge, RecoveryCode, TotpFactor, User
from privacy_service.identity.scopes import Role, parse_roles
from privacy_service.identity.sessions import revoke_all_sessions
from privacy_service.vault import service as vault
from privacy_service.work import Work


class UnknownStaff(NotFound):
    """No staff account has this id or email (customers are not staff)."""

    code = "staff_not_found"
    title = "No staff account has this id or email"


@dataclass(frozen=True)
class StaffAccount:
    """A new staff member; the TOTP enrolment and recovery codes are shown once, to the operator."""

    user_id: str
    enrolment: mfa.TotpEnrolment | None
    recovery_codes: list[str] = field(repr=False)


@dataclass(frozen=True)
class StaffListing:
    """A staff account as the operator's terminal shows it; ``email`` is decrypted for that terminal only."""

    user_id: str
    email: str | None = field(repr=False)  # None once the subject's key is shredded
    roles: tuple[Role, ...]
    mfa_enrolled: bool
    created_at: datetime
    disabled_at: datetime | None


def create_staff(
    work: Work,
    *,
    credentials: Credentials,
    email: str,
    password: str,
    roles: Iterable[Role],
    with_totp: bool = True,
    actor: Party = SYSTEM,
) -> StaffAccount:
    """Register a staff user (staff password rules) and, unless told otherwise, enrol TOTP confirmed.

    Staff cannot use staff endpoints without a second factor, so the operator's
    command (``privacy-service admin create``) and the console's staff page enrol it at once.
    """
    user = accounts.register_user(
        work,
        emails=credentials.emails,
        passwords=credentials.passwords,
        email=email,
        password=password,
        roles=roles,
        actor=actor,
    )
    if not with_totp:
        return StaffAccount(user_id=user.id, enrolment=None, recovery_codes=[])
    enrolment, codes = mfa.enrol_confirmed_totp(
        work,
        recovery=credentials.recovery,
        user_id=user.id,
        account_name=email,
        issuer=credentials.totp_issuer,
        actor=actor,
    )
    return StaffAccount(user_id=user.id, enrolment=enrolment, recovery_codes=codes)


def list_staff(work: Work) -> list[StaffListing]:
    """Every staff account, oldest first, with its email decrypted (a shop has a handful: no paging)."""
    users = list(
        work.session.scalars(select(User).where(User.roles != "").order_by(User.created_at, User.id))
    )
    ids = [user.id for user in users]
    confirmed = select(TotpFactor.user_id).where(
        TotpFactor.user_id.in_(ids), TotpFactor.confirmed_at.is_not(None)
    )
    enrolled = set(work.session.scalars(confirmed))
    profiles = vault.load_profiles(work, subject_ids=ids)
    return [
        StaffListing(
            user_id=user.id,
            email=profiles[user.id].email if user.id in profiles else None,
            roles=tuple(sorted(parse_roles(user.roles))),
            mfa_enrolled=user.id in enrolled,
            created_at=user.created_at,
            disabled_at=user.disabled_at,
        )
        for user in users
    ]


def find_staff(
    *, session: Session, emails: BlindIndex, user_id: str | None = None, email: str | None = None
) -> User:
    """The staff account named by id or by email (through the blind index); ``UnknownStaff`` otherwise."""
    if user_id is not None:
        user = session.get(User, user_id)
    elif email is not None:
        user = accounts.find_user_by_email(session=session, emails=emails, email=email)
    else:
        raise ValueError("name the staff account by id or by email")
    if user is None or not parse_roles(user.roles):
        raise UnknownStaff()
    return user


def disable_staff(work: Work, *, user: User, actor: Party = SYSTEM) -> int | None:
    """End a staff account's signing in and every session it has; the number ended, None if already disabled.

    The login lookup (``accounts.find_login_account``) skips a disabled
    account, so its login is refused exactly as a wrong password is; a login
    half-way through its second factor is ended too.
    """
    if user.disabled_at is not None:
        return None
    user.disabled_at = work.clock.now()
    ended = _end_sign_ins(work, user_id=user.id)
    audit.record(
        work,
        actor=actor,
        action=Action.USER_DISABLE,
        target=user_party(user.id),
        outcome=Outcome.SUCCESS,
        details={"sessions_revoked": ended},
    )
    return ended


@dataclass(frozen=True)
class MfaReset:
    """A staff member's new TOTP enrolment and recovery codes, shown once to the operator."""

    enrolment: mfa.TotpEnrolment
    recovery_codes: list[str] = field(repr=False)
    sessions_revoked: int


def reset_staff_mfa(work: Work, *, credentials: Credentials, user: User, actor: Party = SYSTEM) -> MfaReset:
    """Replace a staff member's second factor (a lost phone): the old TOTP secret and recovery codes stop
    working, every session ends, and a new confirmed enrolment is returned for the operator to hand over.

    Staff must have a second factor to use staff APIs, so the account is never
    left without one.
    """
    email = vault.read_profile(work, subject_id=user.id).email
    work.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    work.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    ended = _end_sign_ins(work, user_id=user.id)
    audit.record(
        work,
        actor=actor,
        action=Action.MFA_RESET,
        target=user_party(user.id),
        outcome=Outcome.SUCCESS,
        details={"sessions_revoked": ended},
    )
    enrolment, codes = mfa.enrol_confirmed_totp(
        work,
        recovery=credentials.recovery,
        user_id=user.id,
        account_name=email,
        issuer=credentials.totp_issuer,
        actor=actor,
    )
    return MfaReset(enrolment=enrolment, recovery_codes=codes, sessions_revoked=ended)


def _end_sign_ins(work: Work, *, user_id: str) -> int:
    """Revoke every session (their access tokens are refused from then on) and every pending MFA step."""
    work.session.execute(delete(MfaChallenge).where(MfaChallenge.user_id == user_id))
    return revoke_all_sessions(work, user_id=user_id)
