"""The shape personal data must have to enter the vault: checked at the edge, before anything is encrypted.

Values are validated once, on the way in. What comes back out of the vault was
validated when it was written and authenticated by AES-GCM since, so reads
rebuild these models without validating again (and an old value still reads
after a rule is tightened).

Error messages name the rule that failed, never the value: they reach logs
and callers, and the value is personal data.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)

MAX_EMAIL_LENGTH = 254  # RFC 5321 §4.5.3.1.3: a path is at most 256 octets, including the angle brackets
MAX_LOCAL_PART_LENGTH = 64  # RFC 5321 §4.5.3.1.1
MAX_DOMAIN_LABEL_LENGTH = 63  # RFC 1035 §2.3.4
MAX_NAME_LENGTH = 200
MAX_EXTRA_BYTES = 16 * 1024
MAX_RECORD_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16

RECORD_CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

# Characters RFC 5322 reserves as delimiters; an address with one unquoted in its
# local part is either quoted (refused: no shop sends those) or not an address.
_LOCAL_PART_SPECIALS = frozenset('"(),:;<>@[\\]')
_PHONE = re.compile(r"\+?[0-9 ().\-/]+")
_MIN_PHONE_DIGITS, _MAX_PHONE_DIGITS = 3, 20  # E.164 allows 15 digits; extensions need a few more
_LOCALE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*")
_MAX_LOCALE_LENGTH = 35  # RFC 5646 §4.4.1: the minimum every implementation must accept


# Bidirectional embeddings, overrides and isolates (Unicode TR 9) reorder what a
# reader sees ("Trojan Source", CVE-2021-42574). Other format characters stay:
# the zero-width non-joiner is part of the spelling of many Persian names.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _has_control_character(value: str) -> bool:
    return any(
        character in _BIDI_CONTROLS or unicodedata.category(character) in {"Cc", "Zl", "Zp"}
        for character in value
    )


def _single_line(value: str) -> str:
    """Refuse control, line-separator and bidi-override characters: they hide text from readers and logs."""
    if _has_control_character(value):
        raise ValueError("must not contain control, line-break or bidirectional override characters")
    return value


def _email_address(value: str) -> str:
    """Return the address trimmed; refuse anything not shaped ``local@domain.tld``.

    Deliberately "email-ish": internationalised local parts and domains
    (RFC 6531, IDNA) pass, quoted local parts and IP literals do not. Whether
    the mailbox exists is for a confirmation mail to find out, not a regex.
    """
    address = value.strip()
    if len(address) > MAX_EMAIL_LENGTH:
        raise ValueError(f"must be at most {MAX_EMAIL_LENGTH} characters")
    local_part, at, domain = address.rpartition("@")
    if not at or not local_part or not domain:
        raise ValueError("must be an email address: a local part, @ and a domain name")
    if len(local_part) > MAX_LOCAL_PART_LENGTH:
        raise ValueError(f"the part before @ must be at most {MAX_LOCAL_PART_LENGTH} characters")
    if (
        any(character.isspace() or character in _LOCAL_PART_SPECIALS for character in local_part)
        or _has_control_character(local_part)
        or local_part.startswith(".")
        or local_part.endswith(".")
        or ".." in local_part
    ):
        raise ValueError("the part before @ has characters an email address cannot have unquoted")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_is_domain_label(label) for label in labels):
        raise ValueError("the part after @ must be a domain name such as example.com")
    return address


def _is_domain_label(label: str) -> bool:
    return (
        0 < len(label) <= MAX_DOMAIN_LABEL_LENGTH
        and not label.startswith("-")
        and not label.endswith("-")
        and all(character.isalnum() or character == "-" for character in label)
    )


def _phone_number(value: str) -> str:
    """Digits with the usual separators and an optional leading ``+``; formats differ too much for more."""
    digits = sum(character.isdigit() for character in value)
    if _PHONE.fullmatch(value) is None or not _MIN_PHONE_DIGITS <= digits <= _MAX_PHONE_DIGITS:
        raise ValueError(
            f"must be {_MIN_PHONE_DIGITS} to {_MAX_PHONE_DIGITS} digits, optionally with +, spaces, "
            "dots, dashes, slashes or parentheses"
        )
    return value


def _country_code(value: str) -> str:
    """ISO 3166-1 alpha-2, upper-cased; only the shape is checked, so new or user-assigned codes pass."""
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise ValueError("must be an ISO 3166-1 alpha-2 country code such as DE")
    return value.upper()


def _locale_tag(value: str) -> str:
    """A BCP 47 language tag in its conventional case (``en-US``, ``zh-Hant-TW``); ``en_us`` is accepted.

    RFC 5646 §2.1.1: language subtags lower case, four-letter script subtags
    title case, two-letter region subtags upper case.
    """
    if len(value) > _MAX_LOCALE_LENGTH or _LOCALE.fullmatch(value) is None:
        raise ValueError("must be a BCP 47 language tag such as en-US")
    language, *subtags = value.replace("_", "-").split("-")
    cased = [language.lower()]
    for subtag in subtags:
        if len(subtag) == 2 and subtag.isalpha():
            cased.append(subtag.upper())
        elif len(subtag) == 4 and subtag.isalpha():
            cased.append(subtag.title())
        else:
            cased.append(subtag.lower())
    return "-".join(cased)


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """The bytes a JSON object is measured by: compact UTF-8, as encrypted; NaN and infinities refused."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _json_depth_at_most(value: JsonValue, limit: int) -> bool:
    if isinstance(value, dict):
        return limit > 0 and all(_json_depth_at_most(item, limit - 1) for item in value.values())
    if isinstance(value, list):
        return limit > 0 and all(_json_depth_at_most(item, limit - 1) for item in value)
    return True


def _bounded_json_object(max_bytes: int) -> Callable[[dict[str, JsonValue]], dict[str, JsonValue]]:
    def check(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        if not _json_depth_at_most(value, MAX_JSON_DEPTH):
            raise ValueError(f"must nest at most {MAX_JSON_DEPTH} levels deep")
        try:
            size = len(canonical_json(value))
        except ValueError:
            raise ValueError("must not contain NaN or infinite numbers") from None
        if size > max_bytes:
            raise ValueError(f"must be at most {max_bytes} bytes as JSON")
        return value

    return check


EmailAddress = Annotated[str, AfterValidator(_email_address)]
PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_single_line),
]
PhoneNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_phone_number)
]
CountryCode = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_country_code)]
LocaleTag = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_locale_tag)]
ExtraFields = Annotated[dict[str, JsonValue], AfterValidator(_bounded_json_object(MAX_EXTRA_BYTES))]

RecordCategory = Annotated[str, StringConstraints(pattern=RECORD_CATEGORY_PATTERN)]
"""A record's label, such as ``address`` or ``tax_id``: stored in plaintext, so it must never be a value."""

RecordData = Annotated[dict[str, JsonValue], AfterValidator(_bounded_json_object(MAX_RECORD_BYTES))]
"""The personal data a record holds: any JSON object up to ``MAX_RECORD_BYTES``, encrypted whole."""


class ProfileFields(BaseModel):
    """A data subject's profile, in plaintext: what is encrypted on write and what a read returns.

    ``extra`` holds whatever further fields a shop needs, encrypted as one JSON object.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: EmailAddress
    given_name: PersonName | None = None
    family_name: PersonName | None = None
    phone: PhoneNumber | None = None
    country: CountryCode | None = None
    locale: LocaleTag | None = None
    extra: ExtraFields = Field(default_factory=dict)


class ProfileUpdate(BaseModel):
    """A partial change (PATCH): only the fields sent change; ``null`` clears one, except the email.

    Whether a field was sent is read from ``model_fields_set``, so "absent"
    and "sent as null" stay apart. Clearing ``extra`` empties it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: EmailAddress | None = None
    given_name: PersonName | None = None
    family_name: PersonName | None = None
    phone: PhoneNumber | None = None
    country: CountryCode | None = None
    locale: LocaleTag | None = None
    extra: ExtraFields | None = None

    @field_validator("email")
    @classmethod
    def _email_cannot_be_cleared(cls, value: str | None) -> str | None:
        # Runs only when the field is sent: the email is how the subject is found.
        if value is None:
            raise ValueError("the email address can be changed but not removed")
        return value

    def sent(self) -> dict[str, Any]:
        """The fields the caller sent, with their new values (``extra`` cleared to ``{}``)."""
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        if "extra" in changes and changes["extra"] is None:
            changes["extra"] = {}
        return changes
