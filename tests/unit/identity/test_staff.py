"""Staff accounts at the operator's console: listed with their emails, disabled, second factor reset.

A disabled account's login must be indistinguishable from a wrong password;
a reset second factor must leave the old secret and recovery codes useless,
end every session, and hand over a new enrolment, since staff must have one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.actions import Action
from privacy_service.audit.models import AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.crypto import totp
from privacy_service.identity import staff as service
from privacy_service.identity.accounts import register_user
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import InvalidCode, InvalidCredentials, InvalidMfaToken
from privacy_service.identity.login import LoginAttempt, complete_mfa, login
from privacy_service.identity.models import Client, MfaChallenge, RecoveryCode, UserSession
from privacy_service.identity.scopes import Role
from privacy_service.identity.sessions import is_session_active
from privacy_service.keys.service import Keyring
from privacy_service.work import Work, Workplace

PASSWORD = "a long staff passphrase 2026"
EMAIL = "Officer@Shop.example"


def secret_of(otpauth_uri: str) -> str:
    return otpauth_uri.split("secret=", 1)[1].split("&", 1)[0]


@pytest.fixture
def workplace(sessions: sessionmaker[Session], clock: FrozenClock, keyring: Keyring) -> Workplace:
    """Where a login opens its own units of work, on the test's connection, clock and keyring."""
    return Workplace(sessions=sessions, clock=clock, keyring=keyring)


@pytest.fixture
def shop(session: Session, clock: FrozenClock) -> str:
    client = Client(name="shop", secret_digest=b"\x00" * 32, scopes="auth:login", created_at=clock.now())
    session.add(client)
    session.commit()
    return client.id


@pytest.fixture
def officer(credentials: Credentials, work: Work) -> service.StaffAccount:
    created = service.create_staff(
        work, credentials=credentials, email=EMAIL, password=PASSWORD, roles=[Role.COMPLIANCE_OFFICER]
    )
    work.commit()
    return created


def sign_in(
    workplace: Workplace, credentials: Credentials, shop: str, secret: str, *, password: str = PASSWORD
) -> str:
    """Password then TOTP, as a shop would; return the session id."""
    attempt = LoginAttempt(email=EMAIL.lower(), password=password, client_id=shop)
    first = login(workplace=workplace, credentials=credentials, attempt=attempt)
    assert first.mfa_token is not None
    with workplace.open() as work:
        complete_mfa(
            work, credentials=credentials, client_id=shop,
            mfa_token=first.mfa_token, code=totp.code_at(secret, at=workplace.clock.now()),
        )  # fmt: skip
    # The session is written as its unit of work commits: it can be read back only now.
    with workplace.sessions() as session:
        newest = session.scalars(select(UserSession.id).order_by(UserSession.created_at.desc())).first()
    assert newest is not None
    return newest


def events(session: Session, action: Action, target_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == target_id)
        )
    )


def test_staff_are_listed_with_their_emails_roles_and_second_factor_and_customers_are_not(
    credentials: Credentials, officer: service.StaffAccount, work: Work
) -> None:
    customer = register_user(
        work, emails=credentials.emails, passwords=credentials.passwords,
        email="customer@example.net", password="Tandem-Lighthouse-42",
    )  # fmt: skip
    no_totp = service.create_staff(
        work, credentials=credentials,
        email="admin@shop.example", password=PASSWORD, roles=[Role.ADMIN], with_totp=False,
    )  # fmt: skip

    listed = {account.user_id: account for account in service.list_staff(work)}

    assert customer.id not in listed
    assert listed[officer.user_id].email == EMAIL
    assert listed[officer.user_id].roles == (Role.COMPLIANCE_OFFICER,)
    assert listed[officer.user_id].mfa_enrolled is True
    assert listed[no_totp.user_id].mfa_enrolled is False
    assert listed[officer.user_id].disabled_at is None
    assert EMAIL not in repr(listed[officer.user_id]), "an email is never in a repr that might be logged"


def test_a_customer_or_an_unknown_email_is_not_a_staff_account(
    session: Session, credentials: Credentials, work: Work
) -> None:
    customer = register_user(
        work, emails=credentials.emails, passwords=credentials.passwords,
        email="customer@example.net", password="Tandem-Lighthouse-42",
    )  # fmt: skip
    with pytest.raises(service.UnknownStaff):
        service.find_staff(session=session, emails=credentials.emails, user_id=customer.id)
    with pytest.raises(service.UnknownStaff):
        service.find_staff(session=session, emails=credentials.emails, email="customer@example.net")
    with pytest.raises(service.UnknownStaff):
        service.find_staff(session=session, emails=credentials.emails, email="nobody@example.net")


def test_finding_a_staff_account_without_naming_it_is_a_programming_error_not_an_unknown_account(
    session: Session, credentials: Credentials, officer: service.StaffAccount
) -> None:
    """No id and no email must not fall through to "unknown staff" (a 404 a caller might show)."""
    with pytest.raises(ValueError, match="by id or by email"):
        service.find_staff(session=session, emails=credentials.emails)


def test_a_disabled_account_is_refused_at_login_exactly_as_a_wrong_password_is(
    workplace: Workplace, session: Session, credentials: Credentials, clock: FrozenClock,
    shop: str, officer: service.StaffAccount, work: Work,
) -> None:  # fmt: skip
    attempt = LoginAttempt(email=EMAIL, password=PASSWORD + "x", client_id=shop)
    with pytest.raises(InvalidCredentials) as wrong_password:
        login(workplace=workplace, credentials=credentials, attempt=attempt)
    user = service.find_staff(session=session, emails=credentials.emails, email=EMAIL)
    service.disable_staff(work, user=user)
    work.commit()
    clock.advance(timedelta(minutes=1))

    attempt = LoginAttempt(email=EMAIL, password=PASSWORD, client_id=shop)
    with pytest.raises(InvalidCredentials) as disabled:
        login(workplace=workplace, credentials=credentials, attempt=attempt)

    assert (disabled.value.code, disabled.value.status, disabled.value.detail) == (
        wrong_password.value.code, wrong_password.value.status, wrong_password.value.detail,
    )  # fmt: skip


def test_disabling_ends_every_session_and_a_login_waiting_for_its_second_factor(
    workplace: Workplace, session: Session, credentials: Credentials, clock: FrozenClock,
    shop: str, officer: service.StaffAccount, work: Work,
) -> None:  # fmt: skip
    assert officer.enrolment is not None
    secret = secret_of(officer.enrolment.otpauth_uri)
    signed_in = sign_in(workplace, credentials, shop, secret)
    clock.advance(timedelta(seconds=30))
    attempt = LoginAttempt(email=EMAIL, password=PASSWORD, client_id=shop)
    waiting = login(workplace=workplace, credentials=credentials, attempt=attempt)
    assert waiting.mfa_token is not None

    user = service.find_staff(session=session, emails=credentials.emails, user_id=officer.user_id)
    assert service.disable_staff(work, user=user) == 1
    work.commit()

    assert not is_session_active(work, session_id=signed_in)
    clock.advance(timedelta(seconds=30))
    with pytest.raises(InvalidMfaToken):
        complete_mfa(
            work, credentials=credentials, client_id=shop,
            mfa_token=waiting.mfa_token, code=totp.code_at(secret, at=clock.now()),
        )  # fmt: skip
    [event] = events(session, Action.USER_DISABLE, officer.user_id)
    assert (event.actor_type, event.outcome) == ("system", "success")
    assert service.disable_staff(work, user=user) is None
    work.commit()
    assert len(events(session, Action.USER_DISABLE, officer.user_id)) == 1, "disabling again changes nothing"


def test_a_reset_second_factor_refuses_the_old_secret_and_codes_and_accepts_the_new_enrolment(
    workplace: Workplace, session: Session, credentials: Credentials, clock: FrozenClock,
    shop: str, officer: service.StaffAccount, work: Work,
) -> None:  # fmt: skip
    assert officer.enrolment is not None
    old_secret = secret_of(officer.enrolment.otpauth_uri)
    signed_in = sign_in(workplace, credentials, shop, old_secret)
    old_digests = set(session.scalars(select(RecoveryCode.digest)))

    user = service.find_staff(session=session, emails=credentials.emails, email=EMAIL)
    reset = service.reset_staff_mfa(work, credentials=credentials, user=user)
    work.commit()

    assert reset.sessions_revoked == 1
    assert not is_session_active(work, session_id=signed_in)
    assert reset.enrolment.otpauth_uri.startswith("otpauth://totp/")
    new_secret = secret_of(reset.enrolment.otpauth_uri)
    assert new_secret != old_secret
    assert len(reset.recovery_codes) == 10
    assert set(reset.recovery_codes).isdisjoint(officer.recovery_codes)
    assert old_digests.isdisjoint(session.scalars(select(RecoveryCode.digest)))

    clock.advance(timedelta(minutes=1))
    attempt = LoginAttempt(email=EMAIL, password=PASSWORD, client_id=shop)
    challenge = login(workplace=workplace, credentials=credentials, attempt=attempt)
    assert challenge.mfa_token is not None
    for stale in (totp.code_at(old_secret, at=clock.now()), officer.recovery_codes[0]):
        with pytest.raises(InvalidCode), workplace.open() as second_step:
            complete_mfa(
                second_step,
                credentials=credentials,
                client_id=shop,
                mfa_token=challenge.mfa_token,
                code=stale,
            )
    assert sign_in(workplace, credentials, shop, new_secret) != signed_in
    assert [event.actor_type for event in events(session, Action.MFA_RESET, officer.user_id)] == ["system"]


def test_resetting_removes_a_pending_second_factor_step(
    workplace: Workplace, session: Session, credentials: Credentials, shop: str,
    officer: service.StaffAccount, work: Work,
) -> None:  # fmt: skip
    attempt = LoginAttempt(email=EMAIL, password=PASSWORD, client_id=shop)
    assert login(workplace=workplace, credentials=credentials, attempt=attempt).mfa_token
    user = service.find_staff(session=session, emails=credentials.emails, email=EMAIL)

    service.reset_staff_mfa(work, credentials=credentials, user=user)
    work.commit()

    assert session.scalars(select(MfaChallenge).where(MfaChallenge.user_id == user.id)).all() == []
