"""Second factors: TOTP enrolment, confirmation and removal, and checking a TOTP or recovery code.

A TOTP secret is encrypted under the user's data key; a code is accepted once
(the last used time step is kept, RFC 6238 §5.2) within one step either way.
Recovery codes are ten single-use keyed digests, replaced as a set whenever
TOTP is confirmed, and shown only once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, user_party
from privacy_service.crypto import InvalidCode as CryptoInvalidCode
from privacy_service.crypto import ReplayedCode as CryptoReplayedCode
from privacy_service.crypto import totp
from privacy_service.crypto.recovery_codes import RecoveryCodes
from privacy_service.identity.errors import (
    CodeReplayed,
    InvalidCode,
    MfaAlreadyEnabled,
    MfaEnrolmentMissing,
    MfaNotEnabled,
)
from privacy_service.identity.models import RecoveryCode, TotpFactor
from privacy_service.identity.throttle import LoginThrottle
from privacy_service.keys.fields import SubjectFields
from privacy_service.work import Work

_TOTP_DIGITS = 6


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def _fields(work: Work, *, user_id: str) -> SubjectFields:
    return work.subject_fields(table=TotpFactor.__tablename__, subject_id=user_id)


def confirmed_factor(*, session: Session, user_id: str) -> TotpFactor | None:
    factor = session.get(TotpFactor, user_id)
    return factor if factor is not None and factor.confirmed_at is not None else None


def start_totp_enrolment(work: Work, *, user_id: str, account_name: str, issuer: str) -> TotpEnrolment:
    """Create (or replace) a pending TOTP secret; it takes effect once confirmed with a first code."""
    factor = work.session.get(TotpFactor, user_id)
    if factor is not None and factor.confirmed_at is not None:
        raise MfaAlreadyEnabled()
    secret = totp.new_secret()
    ciphertext = _fields(work, user_id=user_id).encrypt("secret", secret)
    assert ciphertext is not None
    if factor is None:
        work.session.add(TotpFactor(user_id=user_id, secret=ciphertext, created_at=work.clock.now()))
    else:
        factor.secret, factor.created_at, factor.last_used_step = ciphertext, work.clock.now(), None
    work.session.flush()
    uri = totp.provisioning_uri(secret, account_name=account_name, issuer=issuer)
    return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


def confirm_totp(work: Work, *, recovery: RecoveryCodes, user_id: str, code: str) -> list[str]:
    """Turn TOTP on with its first valid code; return ten fresh recovery codes, shown this once."""
    factor = work.session.get(TotpFactor, user_id)
    if factor is None:
        raise MfaEnrolmentMissing()
    if factor.confirmed_at is not None:
        raise MfaAlreadyEnabled()
    _check_totp(work, factor=factor, code=code)
    factor.confirmed_at = work.clock.now()
    _record(work, user_id=user_id, action=Action.MFA_ENABLE)
    return issue_recovery_codes(session=work.session, recovery=recovery, user_id=user_id)


def issue_recovery_codes(*, session: Session, recovery: RecoveryCodes, user_id: str) -> list[str]:
    """Replace the user's recovery codes with ten new ones."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    issued = recovery.issue(account_id=user_id)
    session.add_all(RecoveryCode(user_id=user_id, digest=digest) for digest in issued.digests)
    session.flush()
    return list(issued.codes)


def disable_totp(
    work: Work,
    *,
    recovery: RecoveryCodes,
    throttle: LoginThrottle,
    user_id: str,
    client_id: str | None,
    code: str,
) -> None:
    """Turn TOTP off; it takes a current second factor (a TOTP or recovery code), not just a session.

    Wrong codes are throttled like failed logins, so a stolen session cannot guess its way to turning it off.
    """
    if confirmed_factor(session=work.session, user_id=user_id) is None:
        raise MfaNotEnabled()
    verify_second_factor_throttled(
        work, recovery=recovery, throttle=throttle, user_id=user_id, client_id=client_id, ip=None, code=code
    )
    work.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    work.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
    _record(work, user_id=user_id, action=Action.MFA_DISABLE)


def verify_second_factor(work: Work, *, recovery: RecoveryCodes | None, user_id: str, code: str) -> None:
    """Accept a current TOTP code or, where ``recovery`` is given, an unused recovery code, and burn it;
    raise InvalidCode otherwise.

    Without ``recovery`` only the authenticator's code counts: an approval (``approvals``) binds the
    authenticator itself, and a recovery code, which restores an account, approves nothing.
    """
    factor = confirmed_factor(session=work.session, user_id=user_id)
    if factor is None:
        raise MfaNotEnabled()
    compact = code.replace(" ", "")
    if compact.isdigit() and len(compact) == _TOTP_DIGITS:
        _check_totp(work, factor=factor, code=compact)
        return
    if recovery is None:
        raise InvalidCode()
    _burn_recovery_code(work, recovery=recovery, user_id=user_id, code=code)


def verify_second_factor_throttled(
    work: Work,
    *,
    recovery: RecoveryCodes | None,
    throttle: LoginThrottle,
    user_id: str,
    client_id: str | None,
    ip: str | None,
    code: str,
) -> None:
    """``verify_second_factor`` under the login throttle: a wrong code is a failed attempt of the account.

    ``client_id`` is the client whose window counts too, None for none (the service's own pages, as
    ``login.LoginAttempt.client_bucket`` says).

    NIST SP 800-63B §5.2.2 limits failed attempts per authenticator, OTPs
    included: wrong codes fill the same windows and growing delay as wrong
    passwords, and an active throttle refuses (``TooManyAttempts``) before
    the code is looked at.
    """
    account_key = user_id.encode()  # the login's account key (login.login, accounts.change_password)
    throttle.check(account_key=account_key, ip=ip, client_id=client_id)
    try:
        verify_second_factor(work, recovery=recovery, user_id=user_id, code=code)
    except InvalidCode:
        throttle.record_failure(account_key=account_key, ip=ip, client_id=client_id)
        work.keep_when_refused()  # the failed attempt counts though the code is refused
        raise
    except BaseException:
        throttle.abandon(account_key=account_key)
        raise
    throttle.record_success(account_key=account_key)


def _check_totp(work: Work, *, factor: TotpFactor, code: str) -> None:
    secret = _fields(work, user_id=factor.user_id).open("secret", factor.secret)
    assert secret is not None
    try:
        step = totp.verify(secret, code, at=work.clock.now(), last_used_step=factor.last_used_step)
    except CryptoReplayedCode:
        raise CodeReplayed() from None
    except CryptoInvalidCode:
        raise InvalidCode() from None
    factor.last_used_step = step


def _burn_recovery_code(work: Work, *, recovery: RecoveryCodes, user_id: str, code: str) -> None:
    unused = list(
        work.session.scalars(
            select(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            .order_by(RecoveryCode.id)
        )
    )
    try:
        index = recovery.match(code, [row.digest for row in unused], account_id=user_id)
    except CryptoInvalidCode:
        raise InvalidCode() from None
    unused[index].used_at = work.clock.now()


def enrol_confirmed_totp(
    work: Work,
    *,
    recovery: RecoveryCodes,
    user_id: str,
    account_name: str,
    issuer: str,
    actor: Party = SYSTEM,
) -> tuple[TotpEnrolment, list[str]]:
    """Enrol TOTP already confirmed (staff, by an operator or an admin); return the recovery codes too.

    ``actor`` hands the ``otpauth://`` URI to the staff member, who loads it
    into an authenticator; there is no first code to confirm with here.
    """
    enrolment = start_totp_enrolment(work, user_id=user_id, account_name=account_name, issuer=issuer)
    factor = work.session.get_one(TotpFactor, user_id)
    factor.confirmed_at = work.clock.now()
    audit.record(
        work, actor=actor, action=Action.MFA_ENABLE, target=user_party(user_id), outcome=Outcome.SUCCESS
    )
    return enrolment, issue_recovery_codes(session=work.session, recovery=recovery, user_id=user_id)


def _record(work: Work, *, user_id: str, action: Action) -> None:
    """The user changed their own second factor."""
    audit.record(
        work, actor=user_party(user_id), action=action, target=user_party(user_id), outcome=Outcome.SUCCESS
    )
