"""Accounts: registration (customers and staff), lookup by email, password changes.

A user's id is their data subject's id: registering creates the vault subject
(with its data key and encrypted profile) and the account in one transaction.
Passwords are hashed in the bounded pool *before* any row is written, so no
database transaction (nor, on SQLite, the write lock) is held while argon2
runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, user_party
from privacy_service.core.db import run_core
from privacy_service.core.ids import new_id
from privacy_service.crypto import BlindIndex, InvalidPassword, PasswordHasher
from privacy_service.identity.errors import InvalidCredentials
from privacy_service.identity.hashing_pool import PasswordWorkPool
from privacy_service.identity.models import (
    MfaChallenge,
    RecoveryCode,
    RefreshToken,
    TotpFactor,
    User,
    UserSession,
)
from privacy_service.identity.password_rules import PasswordPolicy
from privacy_service.identity.scopes import Role, parse_roles
from privacy_service.identity.sessions import revoke_all_sessions
from privacy_service.identity.throttle import LoginThrottle
from privacy_service.vault import service as vault
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work


@dataclass(frozen=True)
class Passwords:
    """The passwords: how they are hashed (peppered argon2id), where (a bounded pool), which are allowed."""

    hasher: PasswordHasher
    pool: PasswordWorkPool
    customer_policy: PasswordPolicy
    staff_policy: PasswordPolicy

    def policy_for(self, roles: Iterable[Role]) -> PasswordPolicy:
        return self.staff_policy if any(True for _ in roles) else self.customer_policy

    def hash(self, password: str, *, account_id: str) -> bytes:
        return self.pool.run(lambda: self.hasher.hash(password, account_id=account_id))


def register_user(
    work: Work,
    *,
    emails: BlindIndex,
    passwords: Passwords,
    email: str,
    password: str,
    profile: Mapping[str, Any] | None = None,
    roles: Iterable[Role] = (),
    actor: Party = SYSTEM,
) -> User:
    """Create a data subject and its account. Raises PasswordRejected, EmailTaken, or a validation error."""
    roles = frozenset(roles)
    fields = ProfileFields.model_validate({**(profile or {}), "email": email})
    passwords.policy_for(roles).check(password, email=email)
    user_id = new_id()
    peppered = passwords.hash(password, account_id=user_id)
    return _create_account(
        work,
        emails=emails,
        user_id=user_id,
        fields=fields,
        peppered_password=peppered,
        roles=roles,
        actor=actor,
        imported=False,
    )


def import_user(
    work: Work,
    *,
    emails: BlindIndex,
    hasher: PasswordHasher,
    email: str,
    legacy_hash: str,
    profile: Mapping[str, Any] | None = None,
    actor: Party = SYSTEM,
) -> User:
    """Create an account whose password is a shop's old hash, peppered as is; upgraded at the first login."""
    fields = ProfileFields.model_validate({**(profile or {}), "email": email})
    user_id = new_id()
    peppered = hasher.pepper_legacy(legacy_hash, account_id=user_id)
    return _create_account(
        work,
        emails=emails,
        user_id=user_id,
        fields=fields,
        peppered_password=peppered,
        roles=frozenset(),
        actor=actor,
        imported=True,
    )


def _create_account(
    work: Work,
    *,
    emails: BlindIndex,
    user_id: str,
    fields: ProfileFields,
    peppered_password: bytes,
    roles: frozenset[Role],
    actor: Party,
    imported: bool,
) -> User:
    vault.create_subject(work, blind_index=emails, profile=fields, subject_id=user_id)
    now = work.clock.now()
    user = User(
        id=user_id,
        roles=" ".join(sorted(roles)),
        password=peppered_password,
        password_changed_at=now,
        created_at=now,
    )
    work.session.add(user)
    work.session.flush()
    audit.record(
        work,
        actor=actor,
        action=Action.USER_CREATE,
        target=user_party(user_id),
        outcome=Outcome.SUCCESS,
        details={"roles": sorted(roles), "imported": imported},
    )
    return user


def find_user_by_email(*, session: Session, emails: BlindIndex, email: str) -> User | None:
    """The account whose normalised email matches, through the blind index only."""
    for subject_id in vault.find_by_email(session=session, blind_index=emails, email=email):
        user = session.get(User, subject_id)
        if user is not None:
            return user
    return None


@dataclass(frozen=True)
class LoginAccount:
    """What a login needs of an account, read in one query: no second read when the password matched."""

    id: str
    password: bytes = field(repr=False)  # peppered (crypto.passwords)
    roles: frozenset[Role]
    second_factor: bool  # a confirmed TOTP factor: the login asks for it


def find_login_account(*, session: Session, emails: BlindIndex, email: str) -> LoginAccount | None:
    """The account whose normalised email matches (through the blind index only), with its second factor."""
    row = run_core(session, _LOGIN_ACCOUNT, {"email_index": vault.email_index(emails, email)}).first()
    if row is None:
        return None
    user_id, password, roles, confirmed_at = row
    return LoginAccount(
        id=user_id, password=password, roles=parse_roles(roles), second_factor=confirmed_at is not None
    )


# One statement, built once: the blind-index lookup is its subquery.
_LOGIN_ACCOUNT: Final = (
    select(User.id, User.password, User.roles, TotpFactor.confirmed_at)
    .outerjoin(TotpFactor, TotpFactor.user_id == User.id)
    # A disabled account (``staff.disable_staff``) is not found: its login is refused as a wrong password is.
    .where(User.id.in_(vault.SUBJECT_IDS_BY_EMAIL), User.disabled_at.is_(None))
    .order_by(User.id)
    .limit(1)
)


def roles_of(user: User) -> frozenset[Role]:
    return parse_roles(user.roles)


def change_password(
    work: Work,
    *,
    passwords: Passwords,
    throttle: LoginThrottle,
    user_id: str,
    current_session_id: str | None,
    client_id: str,
    current_password: str,
    new_password: str,
) -> None:
    """Replace a password after checking the current one; every other session of the user ends.

    A wrong current password counts as a failed login (the same throttle), so
    a stolen session cannot be used to guess the password.
    """
    user = work.session.get_one(User, user_id)
    account_key = user.id.encode()
    throttle.check(account_key=account_key, ip=None, client_id=client_id)
    peppered = user.password
    try:
        passwords.pool.run(lambda: passwords.hasher.verify(peppered, current_password, account_id=user_id))
    except InvalidPassword:
        throttle.record_failure(account_key=account_key, ip=None, client_id=client_id)
        _record_password_change(work, user_id=user_id, outcome=Outcome.FAILURE)
        work.keep_when_refused()  # the failed attempt and its event persist though the change is refused
        raise InvalidCredentials("The current password is wrong.") from None
    throttle.record_success(account_key=account_key)
    email = vault.read_profile(work, subject_id=user_id).email
    passwords.policy_for(roles_of(user)).check(new_password, email=email)
    user.password = passwords.hash(new_password, account_id=user_id)
    user.password_changed_at = work.clock.now()
    revoke_all_sessions(work, user_id=user_id, except_session_id=current_session_id)
    _record_password_change(work, user_id=user_id, outcome=Outcome.SUCCESS)


def _record_password_change(work: Work, *, user_id: str, outcome: Outcome) -> None:
    audit.record(
        work,
        actor=user_party(user_id),
        action=Action.AUTHN_PASSWORD_CHANGE,
        target=user_party(user_id),
        outcome=outcome,
    )


def delete_account(*, session: Session, user_id: str) -> bool:
    """Delete an account, its credentials, second factors, sessions and refresh tokens; True if it existed.

    Children first and explicitly, as the vault erases: ON DELETE CASCADE is a
    safety net, not the mechanism. The subject's personal data is the vault's
    to erase (``vault.erase_subject``).
    """
    session_ids = select(UserSession.id).where(UserSession.user_id == user_id).scalar_subquery()
    session.execute(delete(RefreshToken).where(RefreshToken.session_id.in_(session_ids)))
    for model in (UserSession, MfaChallenge, RecoveryCode):
        session.execute(delete(model).where(model.user_id == user_id))
    session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
    result = session.execute(delete(User).where(User.id == user_id))
    assert isinstance(result, CursorResult)
    return result.rowcount > 0
