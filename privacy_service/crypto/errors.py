"""Named failures of the cryptographic layer.

Checks raise; they do not return booleans. Each error has the same shape as a
domain error (a stable ``code``, an HTTP ``status`` and a ``title``) so the API
layer maps it to an RFC 9457 problem in one place. ``crypto`` sits below
``core`` and cannot import ``DomainError``, hence a separate root.

Messages name roles, versions and paths, never key material or plaintext:
they are shown to callers and written to logs.
"""

from __future__ import annotations

from typing import ClassVar


class CryptoError(Exception):
    """A cryptographic check failed or key material is unusable."""

    code: ClassVar[str] = "crypto_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Cryptographic operation failed"

    def __init__(self, detail: str | None = None, **extensions: object) -> None:
        self.detail = detail or self.title
        self.extensions = extensions
        super().__init__(self.detail)


class DecryptionFailed(CryptoError):
    """The authentication tag did not verify: wrong key, wrong associated data or altered bytes.

    One error for all three on purpose: telling them apart would help an attacker
    probe, and no caller can act differently on them.
    """

    code = "decryption_failed"
    title = "Decryption failed"


class MalformedCiphertext(CryptoError):
    """The input is not a ciphertext this code can read: empty, truncated, unknown format or bad header."""

    code = "malformed_ciphertext"
    title = "Malformed ciphertext"


class UnknownKeyVersion(CryptoError):
    """A key version is named that the key provider does not hold (never had it, or it was retired)."""

    code = "unknown_key_version"
    title = "Unknown key version"


class KeyVersionInUse(CryptoError):
    """A key version cannot be retired because it is the current one."""

    code = "key_version_in_use"
    status = 409
    title = "Key version in use"


class InsecureKeyFile(CryptoError):
    """The key file grants a permission to group or others; it must be readable by its owner only."""

    code = "insecure_key_file"
    title = "Insecure key file"


class InvalidKeyMaterial(CryptoError):
    """Key material cannot be used: not base64, wrong length, repeated, or a malformed key file."""

    code = "invalid_key_material"
    title = "Invalid key material"


class InsecureHashParameters(CryptoError):
    """Password hashing parameters are below the minimum this service accepts (OWASP: m ≥ 19 MiB, t ≥ 2)."""

    code = "insecure_hash_parameters"
    title = "Insecure password hashing parameters"


class InvalidPassword(CryptoError):
    """The password does not match the stored hash.

    The code is ``invalid_credentials`` because callers answer an unknown
    account with this same error (after ``PasswordHasher.dummy_verify``), so
    the response never tells which of the two it was.
    """

    code = "invalid_credentials"
    status = 401
    title = "Invalid credentials"


class UnsupportedHashFormat(CryptoError):
    """An imported password hash is in no format this service verifies, or asks for too much work."""

    code = "unsupported_hash_format"
    status = 422
    title = "Unsupported password hash format"


class InvalidCode(CryptoError):
    """A one-time code (TOTP or recovery code) is wrong, malformed or outside the accepted time window."""

    code = "invalid_code"
    status = 401
    title = "Invalid code"


class ReplayedCode(InvalidCode):
    """A TOTP code was presented again: its time step is not later than the last one accepted.

    RFC 6238 §5.2: a verifier must not accept the second attempt of a code
    after a successful validation. A subclass of ``InvalidCode`` so that
    callers counting wrong codes count replays too.
    """

    code = "mfa_code_replayed"
    title = "Code already used"
