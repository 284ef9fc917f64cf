"""Second factors at the service layer: enrolment, confirmation, and checks with and without the throttle.

What matters here: a pending secret that was replaced no longer confirms; a
factor is confirmed once and its recovery codes are not reissued by a second
confirmation; no code is accepted for an account without a confirmed factor;
and a check that fails for any reason other than a wrong code counts no
failure and leaves the account free for its next attempt.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_service.core.clock import FrozenClock
from privacy_service.crypto import totp
from privacy_service.identity import mfa
from privacy_service.identity.accounts import register_user
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.errors import (
    InvalidCode,
    MfaAlreadyEnabled,
    MfaEnrolmentMissing,
    MfaNotEnabled,
)
from privacy_service.identity.models import RecoveryCode
from privacy_service.identity.throttle import LoginThrottle
from privacy_service.work import Work

SHOP = "01jshopclient0000000000001"


@pytest.fixture
def user_id(credentials: Credentials, work: Work) -> str:
    user = register_user(
        work, emails=credentials.emails, passwords=credentials.passwords,
        email="customer@example.net", password="Tandem-Lighthouse-42",
    )  # fmt: skip
    return user.id


@pytest.fixture
def throttle(credentials: Credentials, work: Work) -> LoginThrottle:
    return credentials.throttle(work)


def start(work: Work, user_id: str) -> str:
    """Start (or restart) an enrolment; return its secret."""
    enrolment = mfa.start_totp_enrolment(
        work, user_id=user_id, account_name="customer@example.net", issuer="Shop"
    )
    return enrolment.secret


def confirm(work: Work, credentials: Credentials, user_id: str, code: str) -> list[str]:
    return mfa.confirm_totp(work, recovery=credentials.recovery, user_id=user_id, code=code)


def test_restarting_an_enrolment_replaces_the_pending_secret(
    session: Session, credentials: Credentials, clock: FrozenClock, user_id: str, work: Work
) -> None:
    first = start(work, user_id)
    second = start(work, user_id)
    assert first != second

    with pytest.raises(InvalidCode):
        confirm(work, credentials, user_id, totp.code_at(first, at=clock.now()))
    codes = confirm(work, credentials, user_id, totp.code_at(second, at=clock.now()))

    assert len(codes) == 10
    assert mfa.confirmed_factor(session=session, user_id=user_id) is not None


def test_confirming_without_an_enrolment_is_refused(
    credentials: Credentials, user_id: str, work: Work
) -> None:
    with pytest.raises(MfaEnrolmentMissing):
        confirm(work, credentials, user_id, "123456")


def test_a_confirmed_factor_is_not_confirmed_again_and_keeps_its_recovery_codes(
    session: Session, credentials: Credentials, clock: FrozenClock, user_id: str, work: Work
) -> None:
    secret = start(work, user_id)
    codes = confirm(work, credentials, user_id, totp.code_at(secret, at=clock.now()))
    digests = set(session.scalars(select(RecoveryCode.digest).where(RecoveryCode.user_id == user_id)))

    with pytest.raises(MfaAlreadyEnabled):
        confirm(work, credentials, user_id, totp.code_at(secret, at=clock.now()))
    with pytest.raises(MfaAlreadyEnabled):  # nor can it be replaced by a new enrolment
        start(work, user_id)

    assert set(session.scalars(select(RecoveryCode.digest).where(RecoveryCode.user_id == user_id))) == digests
    mfa.verify_second_factor(  # the codes shown at the first confirmation still work
        work, recovery=credentials.recovery, user_id=user_id, code=codes[0]
    )


@pytest.mark.parametrize("pending", [False, True], ids=["no enrolment", "enrolment not confirmed"])
def test_no_code_is_accepted_without_a_confirmed_factor(
    credentials: Credentials, clock: FrozenClock, user_id: str, pending: bool, work: Work
) -> None:
    code = "000000"
    if pending:
        code = totp.code_at(start(work, user_id), at=clock.now())

    with pytest.raises(MfaNotEnabled):
        mfa.verify_second_factor(work, recovery=credentials.recovery, user_id=user_id, code=code)


def test_a_check_refused_for_another_reason_than_a_wrong_code_counts_nothing_and_frees_the_account(
    credentials: Credentials, user_id: str, throttle: LoginThrottle, work: Work
) -> None:
    """The throttle holds the account while a code is checked; a refusal that is not a wrong code
    (here: no factor to check against) must release that hold, or the account's next attempt would
    be refused as "another attempt in progress" for the hold's lifetime."""
    with pytest.raises(MfaNotEnabled):
        mfa.verify_second_factor_throttled(
            work, recovery=credentials.recovery, throttle=throttle,
            user_id=user_id, client_id=SHOP, ip="198.51.100.7", code="000000",
        )  # fmt: skip

    streak = throttle.check(account_key=user_id.encode(), ip="198.51.100.7", client_id=SHOP)
    assert streak == 0  # no failure counted, and the hold was free to take again
    throttle.abandon(account_key=user_id.encode())


def test_a_wrong_code_under_the_throttle_counts_as_a_failed_attempt(
    credentials: Credentials, clock: FrozenClock, user_id: str, throttle: LoginThrottle, work: Work
) -> None:
    """The counterpart of the test above: the same call with a wrong code does count."""
    secret = start(work, user_id)
    confirm(work, credentials, user_id, totp.code_at(secret, at=clock.now()))

    with pytest.raises(InvalidCode):
        mfa.verify_second_factor_throttled(
            work, recovery=credentials.recovery, throttle=throttle,
            user_id=user_id, client_id=SHOP, ip="198.51.100.7", code="not-a-recovery-code",
        )  # fmt: skip

    streak = throttle.check(account_key=user_id.encode(), ip="198.51.100.7", client_id=SHOP)
    assert streak == 1  # within the free failures: counted, with no delay yet
    throttle.abandon(account_key=user_id.encode())
