"""Recovery codes: single-use second factors for a lost authenticator, stored only as keyed digests.

Each code is 10 characters from Crockford's base32 alphabet (no ``i``, ``l``,
``o`` or ``u``, so nothing reads as another character), 50 bits from the
operating system's CSPRNG, shown once as ``xxxxx-xxxxx``. What is typed back
is normalised: case, spaces and dashes do not matter, and ``i``/``l`` read as
``1``, ``o`` as ``0``, as Crockford's decoding rules say.

Why a fast keyed hash and not argon2: slow hashes exist to protect secrets
people choose, which a dictionary guesses in a few million tries. A recovery
code has 50 random bits; guessing one takes about 2**49 tries on average. The
digest is HMAC-SHA256 under a sub-key of the pepper (ASVS 4.0.3 2.4.5), so a
stolen database alone gives nothing to search offline at all, and the account
id is part of the message, so a digest copied to another account does not
match there and one search never covers two accounts. Online guessing is
bounded by the login throttle. argon2 would also cost ten hashes per attempt,
since ``match`` compares against every stored code.

Single use is the caller's half: it deletes or marks the digest ``match``
returned, in the same transaction as the login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from privacy_service.crypto.errors import InvalidCode
from privacy_service.crypto.pepper import PepperPurpose, pepper_subkey

#: Crockford's base32 alphabet, lowercase: 32 symbols, 5 bits each.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
CODE_LENGTH = 10  # 50 bits
CODE_COUNT = 10

_GROUP_SIZE = 5
_LABEL = b"privacy-service/recovery-code/v1\x00"
_SEPARATORS = str.maketrans("", "", " \t-")
_CONFUSABLES = str.maketrans({"i": "1", "l": "1", "o": "0"})
_ALPHABET_SET = frozenset(ALPHABET)


@dataclass(frozen=True, slots=True)
class IssuedRecoveryCodes:
    """Fresh codes to show the user once, and their digests to store, in the same order."""

    codes: tuple[str, ...] = field(repr=False)
    digests: tuple[bytes, ...] = field(repr=False)


def normalise_code(code: str) -> str:
    """Return the canonical 10-character form of a typed code; raise ``InvalidCode`` if it cannot be one."""
    canonical = unicodedata.normalize("NFKC", code).translate(_SEPARATORS).lower().translate(_CONFUSABLES)
    if len(canonical) != CODE_LENGTH or not _ALPHABET_SET.issuperset(canonical):
        raise InvalidCode("a recovery code is 10 letters and digits")
    return canonical


class RecoveryCodes:
    """Issues recovery codes and matches a typed code against an account's stored digests."""

    def __init__(self, *, pepper_key: bytes) -> None:
        self._key = pepper_subkey(pepper_key, purpose=PepperPurpose.RECOVERY_CODE)

    def issue(self, *, account_id: str, count: int = CODE_COUNT) -> IssuedRecoveryCodes:
        """Return ``count`` new codes, formatted ``xxxxx-xxxxx``, with their digests for ``account_id``."""
        raw = [_random_code() for _ in range(count)]
        return IssuedRecoveryCodes(
            codes=tuple(f"{code[:_GROUP_SIZE]}-{code[_GROUP_SIZE:]}" for code in raw),
            digests=tuple(self._digest(code, account_id=account_id) for code in raw),
        )

    def digest(self, code: str, *, account_id: str) -> bytes:
        """Return the 32-byte digest stored for ``code`` of ``account_id``."""
        return self._digest(normalise_code(code), account_id=account_id)

    def match(self, code: str, stored_digests: Sequence[bytes], *, account_id: str) -> int:
        """Return the index in ``stored_digests`` that ``code`` matches; raise ``InvalidCode`` if none.

        Every stored digest is compared, in constant time, whichever matches,
        so timing does not tell which slot (or whether any) matched.
        """
        candidate = self.digest(code, account_id=account_id)
        found = -1
        for index, stored in enumerate(stored_digests):
            if hmac.compare_digest(candidate, stored) and found < 0:
                found = index
        if found < 0:
            raise InvalidCode("the recovery code does not match")
        return found

    def __repr__(self) -> str:
        return "RecoveryCodes()"

    def _digest(self, canonical: str, *, account_id: str) -> bytes:
        if not account_id:
            raise ValueError("a recovery code belongs to an account: account_id is required")
        # The code has a fixed length, so the account id after it needs no length prefix.
        message = _LABEL + canonical.encode("ascii") + account_id.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()


def _random_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
