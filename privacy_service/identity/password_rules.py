"""Which passwords an account may set, as NIST SP 800-63B §5.1.1.2 puts it.

Length is the rule: at least 8 characters for customers and 12 for staff
(configurable, never under 8), and at least 64 always allowed; the upper bound
(1,024 by default) only fences off hashing denial of service. Any Unicode is
allowed, NFKC-normalised and counted in code points, as the same password is
hashed (``crypto.passwords.normalise_password``). There are no composition
rules (no "one digit, one symbol") and no periodic expiry: NIST advises
against both. Refused instead:

- a password on the blocklist: the 30,000 most common passwords of breach
  corpora, as shipped by zxcvbn (its ``passwords`` frequency list),
  compared case-insensitively;
- a password containing the name part of the user's own email address (the
  local part, and the part before a ``+`` tag), if it has 3 characters or more.

Each refusal is a named error with a stable code (status 422) whose message
says which rule failed and never repeats the password. At login, a password
already on the blocklist still works; ``is_blocklisted`` lets the caller tell
the shop that it must be changed (ASVS 4.0.3 2.1.7).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from privacy_service.core.errors import DomainError
from privacy_service.crypto.passwords import MAX_PASSWORD_LENGTH, normalise_password

CUSTOMER_MINIMUM_LENGTH = 8
STAFF_MINIMUM_LENGTH = 12
MAXIMUM_LENGTH = 1024

#: NIST SP 800-63B §5.1.1.2: at least 8 characters required, at least 64 permitted.
NIST_MINIMUM_LENGTH = 8
NIST_PERMITTED_LENGTH = 64
#: A shorter email name ("al@…") would refuse too many unrelated passwords.
EMAIL_NAME_MINIMUM_LENGTH = 3


class PasswordRejected(DomainError):
    """A new password breaks one of the rules; the subclass and its detail say which."""

    code = "password_rejected"
    status = 422
    title = "Password not accepted"


class PasswordTooShort(PasswordRejected):
    """Fewer characters than the account's minimum (8 for customers, 12 for staff by default)."""

    code = "password_too_short"
    title = "Password too short"


class PasswordTooLong(PasswordRejected):
    """More characters than the upper bound, which exists only against hashing denial of service."""

    code = "password_too_long"
    title = "Password too long"


class PasswordBlocklisted(PasswordRejected):
    """The password is one of the most common ones, the first an attacker tries."""

    code = "password_blocklisted"
    title = "Password too common"


class PasswordContainsEmail(PasswordRejected):
    """The password contains the name part of the account's own email address, the second guess of anyone."""

    code = "password_contains_email"
    title = "Password contains the email address"


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordPolicy:
    """Length limits for one kind of account; construction refuses limits NIST SP 800-63B forbids."""

    minimum_length: int = CUSTOMER_MINIMUM_LENGTH
    maximum_length: int = MAXIMUM_LENGTH

    def __post_init__(self) -> None:
        if self.minimum_length < NIST_MINIMUM_LENGTH:
            raise ValueError(f"the minimum password length must be at least {NIST_MINIMUM_LENGTH}")
        if not max(self.minimum_length, NIST_PERMITTED_LENGTH) <= self.maximum_length <= MAX_PASSWORD_LENGTH:
            raise ValueError(
                f"the maximum password length must be at least {NIST_PERMITTED_LENGTH} and the minimum, "
                f"and at most {MAX_PASSWORD_LENGTH}"
            )

    @classmethod
    def for_customers(cls) -> PasswordPolicy:
        return cls(minimum_length=CUSTOMER_MINIMUM_LENGTH)

    @classmethod
    def for_staff(cls) -> PasswordPolicy:
        return cls(minimum_length=STAFF_MINIMUM_LENGTH)

    def check(self, password: str, *, email: str | None) -> None:
        """Return if ``password`` may be set for the account with ``email``; raise the rule it breaks.

        Raises ``PasswordTooShort``, ``PasswordTooLong``, ``PasswordBlocklisted``
        or ``PasswordContainsEmail``, checked in that order.
        """
        if len(password) > MAX_PASSWORD_LENGTH:  # before normalising: NFKC work grows with the input
            raise PasswordTooLong(self._too_long_detail(), maximum_length=self.maximum_length)
        length = len(normalise_password(password))
        if length < self.minimum_length:
            raise PasswordTooShort(
                f"a password needs at least {self.minimum_length} characters",
                minimum_length=self.minimum_length,
            )
        if length > self.maximum_length:
            raise PasswordTooLong(self._too_long_detail(), maximum_length=self.maximum_length)
        if is_blocklisted(password):
            raise PasswordBlocklisted("this password is among the most common ones; choose another")
        if email is not None and _contains_email_name(password, email):
            raise PasswordContainsEmail("a password must not contain the name part of the email address")

    def _too_long_detail(self) -> str:
        return f"a password has at most {self.maximum_length} characters"


def is_blocklisted(password: str) -> bool:
    """Whether ``password`` is on the blocklist (case-insensitive, after NFKC).

    The login path asks this of a correct password (ASVS 4.0.3 2.1.7); the
    list loads on first use, once per process.
    """
    return _comparable(password) in _blocklist()


@functools.cache  # built at each check, it took ~10 ms (benchmarks/README.md, "caches.py")
def _blocklist() -> frozenset[str]:
    # Imported here: the module is a 30,000-entry literal per list, needed only once a password is checked.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    passwords: list[str] = FREQUENCY_LISTS["passwords"]
    return frozenset(_comparable(entry) for entry in passwords)


def _contains_email_name(password: str, email: str) -> bool:
    local = _comparable(email.rpartition("@")[0] or email)
    names = {local, local.partition("+")[0]}
    comparable = _comparable(password)
    return any(len(name) >= EMAIL_NAME_MINIMUM_LENGTH and name in comparable for name in names)


def _comparable(text: str) -> str:
    """NFKC, then case-folded, then NFKC again (case-folding can undo NFKC; Unicode §3.13)."""
    return unicodedata.normalize("NFKC", normalise_password(text).casefold())
