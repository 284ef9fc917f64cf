"""Staff accounts: compliance officers and admins, created with their second factor already enrolled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from privacy_service.core.clock import Clock
from privacy_service.identity import accounts, mfa
from privacy_service.identity.runtime import IdentityRuntime
from privacy_service.identity.scopes import Role
from privacy_service.keys.service import Keyring


@dataclass(frozen=True)
class StaffAccount:
    """A new staff member; the TOTP enrolment and recovery codes are shown once, to the operator."""

    user_id: str
    enrolment: mfa.TotpEnrolment | None
    recovery_codes: list[str] = field(repr=False)


def create_staff(
    *,
    session: Session,
    identity: IdentityRuntime,
    keyring: Keyring,
    clock: Clock,
    email: str,
    password: str,
    roles: Iterable[Role],
    with_totp: bool = True,
) -> StaffAccount:
    """Register a staff user (staff password rules) and, unless told otherwise, enrol TOTP confirmed.

    Staff cannot use staff endpoints without a second factor, so the operator's
    console (``privacy-service admin create``) enrols it at once.
    """
    user = accounts.register_user(
        session=session,
        keyring=keyring,
        emails=identity.emails,
        passwords=identity.passwords,
        clock=clock,
        email=email,
        password=password,
        roles=roles,
    )
    if not with_totp:
        return StaffAccount(user_id=user.id, enrolment=None, recovery_codes=[])
    enrolment, codes = mfa.enrol_confirmed_totp(
        session=session,
        keyring=keyring,
        recovery=identity.recovery,
        clock=clock,
        user_id=user.id,
        account_name=email,
        issuer=identity.totp_issuer,
    )
    return StaffAccount(user_id=user.id, enrolment=enrolment, recovery_codes=codes)
