"""Password hashing: argon2id, peppered so a stolen database cannot be cracked offline.

Each password is hashed with argon2id (RFC 9106) at parameters no weaker than
OWASP's minimum (m = 19 MiB, t = 2, p = 1), and the resulting PHC string is
then encrypted with AES-256-GCM under a sub-key of the pepper key, which the
key provider keeps outside the database (ASVS 4.0.3 2.4.5). Without the
pepper a stolen table is ciphertext: there is no hash to run a dictionary
against. Hashes imported from a shop's old platform (``legacy_hashes``) are
peppered the same way, so no legacy hash is readable in the database either.

Peppered layout, format 1::

    offset  size  field
    0       1     format (0x01)
    1       1     kind: 0x01 argon2id hash made here, 0x02 imported legacy hash
    2       12    nonce, random
    14      n+16  AES-256-GCM ciphertext of the hash string (UTF-8) and 128-bit tag

The associated data is a label, the two header bytes and the account id, so
a peppered value copied onto another account (an attacker with write access
swapping in a hash whose password they know) fails to open, and the kind
cannot be flipped. With random 96-bit nonces SP 800-38D §8.3 allows 2**32
encryptions under one key: one per registration, password change or upgrade.

Passwords are NFKC-normalised before hashing (NIST SP 800-63B §5.1.1.2), so
the same password typed on two keyboards (a composed or decomposed "é", a
fullwidth digit) verifies alike.
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from contextlib import suppress
from dataclasses import dataclass
from enum import IntEnum
from typing import NoReturn

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_service.crypto.errors import (
    DecryptionFailed,
    InsecureHashParameters,
    InvalidPassword,
    MalformedCiphertext,
)
from privacy_service.crypto.legacy_hashes import LegacyScheme, identify, verify_legacy
from privacy_service.crypto.pepper import PepperPurpose, pepper_subkey

#: OWASP Password Storage Cheat Sheet, argon2id minimum: 19 MiB of memory, 2 iterations, 1 lane.
OWASP_MIN_MEMORY_KIB = 19_456
OWASP_MIN_TIME_COST = 2

#: The hard limit, in code points, of any password this module hashes or checks: a fence against
#: hashing denial of service, far above what the password rules allow.
MAX_PASSWORD_LENGTH = 4096

FORMAT_VERSION = 1

_FORMAT_BYTE = FORMAT_VERSION.to_bytes(1, "big")
_LABEL = b"privacy-service/password/v1\x00"
_HEADER_SIZE = 2
_NONCE_SIZE = 12  # 96 bits, as SP 800-38D §8.2 recommends
_TAG_SIZE = 16
_HASH_LEN = 32  # bytes of argon2 output (RFC 9106 §4: 256-bit tags suffice)
_SALT_LEN = 16  # bytes of random salt per hash (RFC 9106 §3.1: 128 bits)
_ARGON2_MIN_MEMORY_PER_LANE_KIB = 8  # RFC 9106 §3.1: m ≥ 8 * p


class _Kind(IntEnum):
    ARGON2ID = 1
    LEGACY = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Argon2Parameters:
    """The cost of one argon2id hash: iterations, memory in KiB and lanes.

    Construction refuses parameters below OWASP's minimum with
    ``InsecureHashParameters`` unless ``insecure_for_tests`` is set, as
    ``for_tests()`` does; settings never set it. The flag shows in the repr,
    so a log line reveals weak parameters that slipped into a deployment.
    """

    time_cost: int
    memory_kib: int
    parallelism: int
    insecure_for_tests: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.parallelism <= 255:
            raise ValueError("argon2 parallelism must be between 1 and 255")
        if self.time_cost < 1 or self.memory_kib < _ARGON2_MIN_MEMORY_PER_LANE_KIB * self.parallelism:
            raise ValueError("argon2 needs time_cost >= 1 and memory_kib >= 8 * parallelism")
        if not self.insecure_for_tests and (
            self.memory_kib < OWASP_MIN_MEMORY_KIB or self.time_cost < OWASP_MIN_TIME_COST
        ):
            raise InsecureHashParameters(
                f"argon2id needs memory_kib >= {OWASP_MIN_MEMORY_KIB} and time_cost >= {OWASP_MIN_TIME_COST}"
            )

    @classmethod
    def production(cls) -> Argon2Parameters:
        """OWASP's first argon2id recommendation: m = 19 MiB, t = 2, p = 1 (tens of milliseconds a hash)."""
        return cls(time_cost=OWASP_MIN_TIME_COST, memory_kib=OWASP_MIN_MEMORY_KIB, parallelism=1)

    @classmethod
    def for_tests(cls) -> Argon2Parameters:
        """The cheapest valid argon2id (t = 1, 8 KiB): fast tests only, never a deployment."""
        return cls(time_cost=1, memory_kib=8, parallelism=1, insecure_for_tests=True)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """A password matched. ``needs_rehash``: store ``hash(password)`` now, while the password is at hand.

    A rehash is needed when the hash was made with other argon2 parameters
    than the current ones, or is an imported legacy hash (then
    ``legacy_scheme`` names its format).
    """

    needs_rehash: bool
    legacy_scheme: LegacyScheme | None = None


def normalise_password(password: str) -> str:
    """Return the form a password is hashed in: NFKC (NIST SP 800-63B §5.1.1.2), nothing else.

    No trimming and no case-folding: spaces and case are part of a password.
    """
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    """Hashes and verifies passwords as peppered argon2id hashes; verifies imported legacy hashes.

    Build one per process and share it: it holds no per-call state, so worker
    threads (the bounded argon2 pool) may call it concurrently. Construction
    costs one argon2id hash (the reference for ``dummy_verify``).
    """

    def __init__(self, *, pepper_key: bytes, parameters: Argon2Parameters) -> None:
        self.parameters = parameters
        self._cipher = AESGCM(pepper_subkey(pepper_key, purpose=PepperPurpose.PASSWORD_HASH))
        self._argon2 = Argon2Hasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            hash_len=_HASH_LEN,
            salt_len=_SALT_LEN,
            type=Type.ID,
        )
        # A hash of a random secret nobody knows, at the current parameters,
        # for dummy_verify to check against.
        self._dummy_hash = self._argon2.hash(secrets.token_bytes(_SALT_LEN))

    def hash(self, password: str, *, account_id: str) -> bytes:
        """Return the peppered argon2id hash of ``password`` for the account ``account_id``.

        The password rules (``identity.password_rules``) run first; this only
        refuses, with ``ValueError``, a password over ``MAX_PASSWORD_LENGTH``.
        """
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValueError(f"a password is at most {MAX_PASSWORD_LENGTH} characters")
        phc = self._argon2.hash(_encode(normalise_password(password)))
        return self._pepper(_Kind.ARGON2ID, phc.encode("ascii"), account_id=account_id)

    def pepper_legacy(self, hash_string: str, *, account_id: str) -> bytes:
        """Pepper a hash imported from a shop's old platform, after ``identify`` has accepted it.

        Raises ``UnsupportedHashFormat`` for a hash that cannot be verified
        later, so an import reports it instead of storing a dead credential.
        """
        identify(hash_string)
        return self._pepper(_Kind.LEGACY, hash_string.encode(), account_id=account_id)

    def verify(self, peppered: bytes, password: str, *, account_id: str) -> VerifyResult:
        """Check ``password`` against a peppered hash of ``account_id``; raise ``InvalidPassword`` if wrong.

        Raises ``MalformedCiphertext`` or ``DecryptionFailed`` if the peppered
        value is not one this hasher made for this account (another pepper,
        another account, altered bytes): that is tampering or a key mix-up,
        never a wrong password, and is not reported as one.
        """
        kind, hash_string = self._open(peppered, account_id=account_id)
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InvalidPassword()
        if kind is _Kind.LEGACY:
            scheme = verify_legacy(hash_string=hash_string, password=password)
            return VerifyResult(needs_rehash=True, legacy_scheme=scheme)
        try:
            self._argon2.verify(hash_string, _encode(normalise_password(password)))
        except VerifyMismatchError:
            raise InvalidPassword() from None
        return VerifyResult(needs_rehash=self._argon2.check_needs_rehash(hash_string))

    def dummy_verify(self, password: str) -> NoReturn:
        """Spend the work of one argon2id verification, then raise ``InvalidPassword``.

        For a login naming no known account: it costs what checking a real
        account's password costs, so response times do not reveal which
        emails have accounts (ASVS 4.0.3 2.2.1 and OWASP's authentication
        guidance on response discrepancy). Accounts still holding an imported
        legacy hash cost what their old scheme costs until their first login.
        """
        if len(password) <= MAX_PASSWORD_LENGTH:  # the same early refusal as verify
            with suppress(VerifyMismatchError):
                self._argon2.verify(self._dummy_hash, _encode(normalise_password(password)))
        raise InvalidPassword()

    def __repr__(self) -> str:
        return f"PasswordHasher(parameters={self.parameters!r})"

    def _pepper(self, kind: _Kind, hash_bytes: bytes, *, account_id: str) -> bytes:
        header = _FORMAT_BYTE + bytes([kind])
        nonce = os.urandom(_NONCE_SIZE)
        return header + nonce + self._cipher.encrypt(nonce, hash_bytes, _associated_data(header, account_id))

    def _open(self, peppered: bytes, *, account_id: str) -> tuple[_Kind, str]:
        if len(peppered) < _HEADER_SIZE + _NONCE_SIZE + _TAG_SIZE + 1:
            raise MalformedCiphertext("peppered password hash is truncated")
        if peppered[0] != FORMAT_VERSION:
            raise MalformedCiphertext(f"unknown peppered password hash format {peppered[0]}")
        try:
            kind = _Kind(peppered[1])
        except ValueError:
            raise MalformedCiphertext(f"unknown peppered password hash kind {peppered[1]}") from None
        header = peppered[:_HEADER_SIZE]
        body = _HEADER_SIZE + _NONCE_SIZE
        try:
            plaintext = self._cipher.decrypt(
                peppered[_HEADER_SIZE:body], peppered[body:], _associated_data(header, account_id)
            )
        except InvalidTag:
            raise DecryptionFailed("peppered password hash did not verify for this account") from None
        return kind, plaintext.decode()


def _associated_data(header: bytes, account_id: str) -> bytes:
    """Label, header, then the account id (last, so it needs no length prefix)."""
    if not account_id:
        raise ValueError("a password hash belongs to an account: account_id is required")
    return _LABEL + header + account_id.encode()


def _encode(password: str) -> bytes:
    # surrogatepass: a lone surrogate (possible in JSON, never typed) hashes
    # consistently instead of failing to encode.
    return password.encode("utf-8", "surrogatepass")
