"""Time-based one-time passwords (RFC 6238) for the second factor, over pyotp.

The defaults are what every authenticator app supports: HMAC-SHA1, six
digits, 30-second steps (RFC 6238 §4, §5.2). Time is always passed in
(``at``), never read, so callers control it and tests move it. A code is
accepted for the current step and one step either side (RFC 6238 §5.2 allows
one step of clock drift each way), and only once: the caller stores the step
``verify`` returns and passes it back as ``last_used_step``.

Secrets are 160 bits (RFC 4226 §4 R6 recommends 160, pyotp requires at least
112) from the operating system's CSPRNG, handed out base32-encoded as
authenticator apps expect. They are personal data at rest: callers store them
through the field cipher, never in plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import pyotp
import segno

from privacy_service.crypto.errors import InvalidCode, ReplayedCode

SECRET_BYTES = 20  # 160 bits: 32 base32 characters, no padding

#: RFC 6238 §5.2: accept the previous and the next step as well, for clock drift and typing time.
ACCEPTED_DRIFT_STEPS = 1

_QR_TITLE = "Authenticator enrolment code"


class TotpAlgorithm(StrEnum):
    """The HMAC hash of RFC 6238 §1.2; authenticator apps implement SHA1, some the others."""

    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"


_DIGESTS: dict[TotpAlgorithm, Callable[..., object]] = {
    TotpAlgorithm.SHA1: hashlib.sha1,
    TotpAlgorithm.SHA256: hashlib.sha256,
    TotpAlgorithm.SHA512: hashlib.sha512,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TotpProfile:
    """How codes are made: digits, step length in seconds (RFC 6238 X) and hash."""

    digits: int = 6
    period: int = 30
    algorithm: TotpAlgorithm = TotpAlgorithm.SHA1


#: What authenticator apps support everywhere: SHA1, 6 digits, 30 s.
DEFAULT_PROFILE = TotpProfile()


def new_secret() -> str:
    """Return a fresh random 160-bit secret, base32-encoded (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def provisioning_uri(
    secret: str, *, account_name: str, issuer: str, profile: TotpProfile = DEFAULT_PROFILE
) -> str:
    """Return the ``otpauth://totp/...`` URI an authenticator app enrols from (Key Uri Format).

    The label is ``issuer:account_name``, so neither may contain a colon.
    """
    for role, value in (("issuer", issuer), ("account name", account_name)):
        if not value or ":" in value:
            raise ValueError(f"the {role} must be non-empty and contain no colon")
    uri: str = _totp(secret, profile).provisioning_uri(name=account_name, issuer_name=issuer)
    return uri


def qr_svg(uri: str) -> str:
    """Return a standalone SVG QR code of ``uri`` for the enrolment screen.

    Error correction level M (15 %), the usual choice for codes shown on screens.
    """
    qr = segno.make_qr(uri, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, nl=False, title=_QR_TITLE)
    return buffer.getvalue().decode("utf-8")


def code_at(secret: str, *, at: datetime, profile: TotpProfile = DEFAULT_PROFILE) -> str:
    """Return the code an authenticator app shows at ``at`` (for enrolment checks and tests)."""
    return _totp(secret, profile).generate_otp(time_step(at, profile=profile))


def time_step(at: datetime, *, profile: TotpProfile = DEFAULT_PROFILE) -> int:
    """Return the RFC 6238 §4.2 counter T = floor((unix time - T0) / X), with T0 = 0."""
    if at.tzinfo is None:
        raise ValueError("TOTP needs a timezone-aware time")
    return int(at.timestamp()) // profile.period


def verify(
    secret: str,
    code: str,
    *,
    at: datetime,
    last_used_step: int | None,
    profile: TotpProfile = DEFAULT_PROFILE,
) -> int:
    """Check ``code`` at time ``at`` and return the time step it matched; store it as ``last_used_step``.

    Accepts the step of ``at`` and one either side (RFC 6238 §5.2). Spaces
    inside the code are ignored (apps display ``123 456``). Raises
    ``InvalidCode`` for a wrong or malformed code, and ``ReplayedCode`` when
    the code matches but its step is not after ``last_used_step``: RFC 6238
    §5.2, a code is valid once, and an older code is refused after a newer one.
    """
    candidate = "".join(code.split())
    if len(candidate) != profile.digits or not (candidate.isascii() and candidate.isdigit()):
        raise InvalidCode("a code is a number of the expected length")
    totp = _totp(secret, profile)
    current = time_step(at, profile=profile)
    # Every candidate step is computed and compared, in constant time, whatever matches.
    matched = [
        step
        for step in range(current - ACCEPTED_DRIFT_STEPS, current + ACCEPTED_DRIFT_STEPS + 1)
        if hmac.compare_digest(totp.generate_otp(step), candidate)
    ]
    if not matched:
        raise InvalidCode("the code does not match")
    unused = [step for step in matched if last_used_step is None or step > last_used_step]
    if not unused:
        raise ReplayedCode("this code was already used")
    return unused[0]


def _totp(secret: str, profile: TotpProfile) -> pyotp.TOTP:
    return pyotp.TOTP(
        secret, digits=profile.digits, digest=_DIGESTS[profile.algorithm], interval=profile.period
    )
