"""The named failures of login, second factors, tokens and clients."""

from __future__ import annotations

from privacy_service.core.errors import Conflict, DomainError


class IdentityError(DomainError):
    """Root of identity's errors."""


class InvalidCredentials(IdentityError):
    """Wrong email or password: one body whether or not the account exists."""

    code = "invalid_credentials"
    status = 401
    title = "Invalid credentials"


class InvalidCode(IdentityError):
    code = "invalid_code"
    status = 401
    title = "Invalid code"


class CodeReplayed(InvalidCode):
    """RFC 6238 §5.2: a TOTP code is accepted once; this one was already used."""

    code = "mfa_code_replayed"
    title = "This code was already used"


class MfaEnrolmentMissing(IdentityError):
    code = "mfa_enrolment_missing"
    status = 409
    title = "Start the TOTP enrolment first"


class InvalidMfaToken(IdentityError):
    code = "invalid_mfa_token"
    status = 401
    title = "The MFA token is unknown, used or expired"


class TooManyAttempts(IdentityError):
    """Throttled: try again after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429
    title = "Too many attempts"
    retry_after: int

    def __init__(self, detail: str | None = None, *, retry_after: int, **extensions: object) -> None:
        super().__init__(detail, **extensions)
        self.retry_after = max(1, retry_after)


class NotAuthenticated(IdentityError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"
    challenge = "Bearer"  # RFC 6750 §3: the WWW-Authenticate answer


class InvalidToken(IdentityError):
    code = "invalid_token"
    status = 401
    title = "The token is invalid or expired"
    challenge = 'Bearer error="invalid_token"'


class Forbidden(IdentityError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class CsrfRefused(Forbidden):
    """A web form posted without the CSRF token of the page it came from: nothing was changed."""

    code = "csrf_refused"
    title = "This form has expired or did not come from this service"


class StaffOnly(Forbidden):
    """The console admits staff signed in with their second factor, and no one else."""

    code = "staff_only"
    title = "This console is for staff signed in with their second factor"


class MfaRequiredForStaff(Forbidden):
    code = "mfa_required"
    title = "Staff must sign in with a second factor"


class RefreshTokenReused(InvalidToken):
    """A refresh token was presented a second time: its whole family is revoked (RFC 9700 §4.14.2)."""

    code = "invalid_grant"


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"
    title = "Two-factor authentication is already on"


class MfaNotEnabled(Conflict):
    code = "mfa_not_enabled"
    title = "Two-factor authentication is not on"
