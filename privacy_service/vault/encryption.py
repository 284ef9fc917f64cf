"""How a profile becomes ciphertext and back: one column per field, each bound to its column and subject."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from privacy_service.crypto import DataKey, TextColumns
from privacy_service.keys.fields import SubjectFields
from privacy_service.vault.models import Profile
from privacy_service.vault.schemas import ProfileFields

EXTRA_COLUMN = "extra"

#: The text columns of a profile, opened together; ``extra`` (JSON, usually NULL) is opened on its own.
_PROFILE_TEXT = TextColumns(
    Profile.__tablename__, ("email", "given_name", "family_name", "phone", "country", "locale")
)


def profile_fields(*, key: DataKey, subject_id: str) -> SubjectFields:
    """Encrypt and open the subject's profile columns one by one (writes, and ``extra``)."""
    return SubjectFields(key=key, table=Profile.__tablename__, subject_id=subject_id)


def encrypt_profile_values(*, fields: SubjectFields, values: Mapping[str, Any]) -> dict[str, bytes | None]:
    """Column → ciphertext for each field in ``values``; ``None`` and an empty ``extra`` store NULL."""
    return {
        column: (fields.encrypt_json(column, value) if value else None)
        if column == EXTRA_COLUMN
        else fields.encrypt(column, value)
        for column, value in values.items()
    }


def open_profile(*, key: DataKey, subject_id: str, row: Profile) -> ProfileFields:
    """The plaintext profile of ``row``; raises ``DecryptionFailed`` if any column was altered or moved.

    Not validated again: every value was validated before it was encrypted, and
    AES-GCM has just proven it is the value that was encrypted there (validating
    makes loading 300 profiles cost 2.2-2.9x the CPU: ``benchmarks/README.md``, "caches.py").
    """
    email, given_name, family_name, phone, country, locale = _PROFILE_TEXT.open(
        key=key,
        subject_id=subject_id,
        ciphertexts=(row.email, row.given_name, row.family_name, row.phone, row.country, row.locale),
    )
    assert email is not None  # the column is NOT NULL
    extra = row.extra
    if extra is not None:
        opened_extra = profile_fields(key=key, subject_id=subject_id).open_json(EXTRA_COLUMN, extra)
    else:
        opened_extra = {}
    return ProfileFields.model_construct(
        email=email,
        given_name=given_name,
        family_name=family_name,
        phone=phone,
        country=country,
        locale=locale,
        extra=opened_extra,
    )
