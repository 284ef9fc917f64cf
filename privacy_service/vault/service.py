"""The vault's operations: create and find subjects, read and change profiles, store records, erase.

Every function works inside the caller's unit of work and never commits, so a
later ``audit.record(...)`` call lands in the same transaction as the change
it describes. Values are encrypted with the subject's data key before they are
added to the session and opened only on the way out; nothing here logs,
formats or compares a personal value in plaintext except to validate it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import pydantic
from pydantic_core import ErrorDetails
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, PartyType
from privacy_service.core.db import run_core, upsert_insert
from privacy_service.core.errors import DomainError
from privacy_service.core.ids import new_id
from privacy_service.crypto import BlindIndex, equal_in_constant_time
from privacy_service.keys.errors import SubjectKeyDestroyed, SubjectKeyNotFound
from privacy_service.keys.fields import SubjectFields
from privacy_service.vault.encryption import (
    encrypt_profile_values,
    open_profile,
    profile_fields,
)
from privacy_service.vault.errors import (
    EmailTaken,
    InvalidRecord,
    RecordNotFound,
    SubjectExists,
    SubjectNotFound,
)
from privacy_service.vault.lookup import EMAIL_PURPOSE
from privacy_service.vault.models import SUBJECT_ID_LENGTH, PersonalRecord, Profile, Subject
from privacy_service.vault.schemas import (
    RECORD_CATEGORY_PATTERN,
    ProfileFields,
    ProfileUpdate,
    RecordCategory,
    RecordData,
)
from privacy_service.work import Work

# Bound the IN lists of bulk reads: SQLite and PostgreSQL cap the parameters of one statement.
LOAD_BATCH_SIZE = 2_000

_CATEGORY: pydantic.TypeAdapter[str] = pydantic.TypeAdapter(RecordCategory)
_RECORD_DATA: pydantic.TypeAdapter[dict[str, Any]] = pydantic.TypeAdapter(RecordData)


def create_subject(
    work: Work, *, blind_index: BlindIndex, profile: ProfileFields, subject_id: str | None = None
) -> Subject:
    """Create a data subject with a fresh data key and their encrypted profile.

    ``subject_id`` is for a caller that must know the id before the subject
    exists (identity binds a password hash to the account id, which is the
    subject id); by default a fresh id is drawn. Raises ``EmailTaken`` if
    another subject's email normalises to the same address, also when that
    subject is being created concurrently, ``SubjectExists`` if the id is in
    use, and ``SubjectKeyExists`` if it belonged to an erased subject.
    """
    _require_email_index(blind_index)
    if subject_id is None:
        subject_id = new_id()
    elif not 0 < len(subject_id) <= SUBJECT_ID_LENGTH:
        raise ValueError(f"a subject id has 1 to {SUBJECT_ID_LENGTH} characters")
    elif work.session.get(Subject, subject_id) is not None:
        raise SubjectExists()
    now = work.clock.now()
    subject = Subject(id=subject_id, created_at=now, updated_at=now)
    _take_email_index(session=work.session, subject=subject, index=blind_index.digest(profile.email))
    key = work.keyring.create(session=work.session, subject_id=subject.id)
    fields = profile_fields(key=key, subject_id=subject.id)
    work.session.add(
        Profile(subject_id=subject.id, **encrypt_profile_values(fields=fields, values=dict(profile)))
    )
    work.session.flush()
    return subject


def read_profile(work: Work, *, subject_id: str) -> ProfileFields:
    """The subject's profile in plaintext.

    Raises ``SubjectNotFound``, or ``SubjectKeyDestroyed`` if the subject was erased.
    """
    row = work.session.get(Profile, subject_id)
    if row is None:
        raise _absent_subject(work, subject_id=subject_id)
    key = work.keyring.for_subject(session=work.session, subject_id=subject_id)
    return open_profile(key=key, subject_id=subject_id, row=row)


def lock_subject(*, session: Session, subject_id: str) -> None:
    """Hold the subject's row until the caller's transaction ends: a check of what the subject has, and
    the write it allows, cannot then interleave with another transaction's for the same subject.

    On PostgreSQL a row lock (``FOR UPDATE``); SQLite's transactions already
    hold the database's write lock from their start (``BEGIN IMMEDIATE``).
    """
    session.execute(select(Subject.id).where(Subject.id == subject_id).with_for_update())


def read_profile_for(work: Work, *, subject_id: str, reader: Party) -> ProfileFields:
    """Someone else's read of the subject's profile (staff, a shop): audited as ``sensitive_read``."""
    profile = read_profile(work, subject_id=subject_id)
    _record_access(work, actor=reader, subject_id=subject_id, action=Action.SENSITIVE_READ, what="profile")
    return profile


def _record_access(work: Work, *, actor: Party, subject_id: str, action: Action, what: str) -> None:
    """An access to a subject's data by another, in the same transaction; ``what`` is encrypted with it."""
    audit.record(
        work,
        actor=actor,
        action=action,
        target=Party(type=PartyType.SUBJECT, id=subject_id),
        outcome=Outcome.SUCCESS,
        details={"data": what},
    )


def update_profile(
    work: Work, *, blind_index: BlindIndex, subject_id: str, changes: ProfileUpdate
) -> ProfileFields:
    """Change only the fields sent, re-indexing the email if it changed; return the whole profile.

    Raises ``SubjectNotFound``, ``SubjectKeyDestroyed`` or ``EmailTaken``.
    Fields not sent keep their ciphertext untouched.
    """
    _require_email_index(blind_index)
    row = work.session.get(Profile, subject_id)
    if row is None:
        raise _absent_subject(work, subject_id=subject_id)
    key = work.keyring.for_subject(session=work.session, subject_id=subject_id)
    sent = changes.sent()
    updated = open_profile(key=key, subject_id=subject_id, row=row).model_copy(update=sent)
    if not sent:
        return updated
    subject = work.session.get_one(Subject, subject_id)
    if "email" in sent:
        index = blind_index.digest(updated.email)
        if not equal_in_constant_time(index, subject.email_index):
            _take_email_index(session=work.session, subject=subject, index=index)
    fields = profile_fields(key=key, subject_id=subject_id)
    for column, ciphertext in encrypt_profile_values(fields=fields, values=sent).items():
        setattr(row, column, ciphertext)
    subject.updated_at = work.clock.now()
    work.session.flush()
    return updated


def find_by_email(*, session: Session, blind_index: BlindIndex, email: str) -> list[str]:
    """Ids of the subjects whose email normalises like ``email``: an exact match on the blind index.

    No ciphertext is opened and no plaintext is compared; an address that is
    not even well-formed simply matches nobody.
    """
    found = run_core(session, SUBJECT_IDS_BY_EMAIL, {"email_index": email_index(blind_index, email)})
    return list(found.scalars())


#: ``find_by_email``'s query, built once, for a caller that makes it part of its own statement
#: (one statement, not two); its parameter ``email_index`` is ``email_index(blind_index, email)``.
SUBJECT_IDS_BY_EMAIL: Final = select(Subject.id).where(Subject.email_index == bindparam("email_index"))


def email_index(blind_index: BlindIndex, email: str) -> bytes:
    """The blind index of ``email`` that ``Subject.email_index`` holds (the email index's key only)."""
    _require_email_index(blind_index)
    return blind_index.digest(email)


def load_profiles(work: Work, *, subject_ids: Iterable[str]) -> dict[str, ProfileFields]:
    """Many subjects' profiles in plaintext, in the order asked, for exports and bulk reads.

    One query for the rows and one (``Keyring.for_subjects``) for the keys not
    cached, per batch of ``LOAD_BATCH_SIZE``. Unknown subjects, and subjects
    whose key was shredded, are left out: their data no longer exists.
    """
    wanted = list(dict.fromkeys(subject_ids))
    profiles: dict[str, ProfileFields] = {}
    for start in range(0, len(wanted), LOAD_BATCH_SIZE):
        batch = wanted[start : start + LOAD_BATCH_SIZE]
        query = select(Profile).where(Profile.subject_id.in_(batch))
        rows = {row.subject_id: row for row in work.session.scalars(query)}
        keys = work.keyring.for_subjects(session=work.session, subject_ids=list(rows))
        for subject_id in batch:
            row, key = rows.get(subject_id), keys.get(subject_id)
            if row is not None and key is not None:
                profiles[subject_id] = open_profile(key=key, subject_id=subject_id, row=row)
    return profiles


def put_record(
    work: Work, *, subject_id: str, category: str, data: Mapping[str, Any], writer: Party = SYSTEM
) -> None:
    """Store ``data`` under ``category`` for the subject, replacing what was there.

    Raises ``InvalidRecord`` for a category or data that ``vault.schemas``
    refuses, ``SubjectNotFound`` or ``SubjectKeyDestroyed``.
    """
    category, data = _valid_record(category=category, data=data)
    _require_subject(work, subject_id=subject_id)
    ciphertext = _record_fields(work, subject_id=subject_id).encrypt_json(_record_column(category), data)
    now = work.clock.now()
    # An upsert: concurrent writers of one record both succeed (the last one wins) instead of one
    # failing on the unique key.
    insert = upsert_insert(work.session.get_bind().dialect.name, PersonalRecord).values(
        id=new_id(), subject_id=subject_id, category=category, data=ciphertext, created_at=now, updated_at=now
    )
    work.session.execute(
        insert.on_conflict_do_update(
            index_elements=[PersonalRecord.subject_id, PersonalRecord.category],
            set_={"data": insert.excluded.data, "updated_at": insert.excluded.updated_at},
        )
    )
    _record_access(
        work, actor=writer, subject_id=subject_id, action=Action.SENSITIVE_UPDATE, what=f"record:{category}"
    )


def get_record(work: Work, *, subject_id: str, category: str) -> dict[str, Any]:
    """The record stored under ``category`` for the subject.

    Raises ``RecordNotFound``, ``SubjectNotFound`` or ``SubjectKeyDestroyed``.
    """
    # Columns, not the entity: an upsert bypasses the identity map, so a loaded entity could be stale.
    ciphertext = work.session.scalar(
        select(PersonalRecord.data).where(
            PersonalRecord.subject_id == subject_id, PersonalRecord.category == category
        )
    )
    if ciphertext is None:
        _require_subject(work, subject_id=subject_id)
        raise RecordNotFound()
    return _record_fields(work, subject_id=subject_id).open_json(_record_column(category), ciphertext)


def get_record_for(work: Work, *, subject_id: str, category: str, reader: Party) -> dict[str, Any]:
    """A shop's read of a subject's record: audited as ``sensitive_read``."""
    record = get_record(work, subject_id=subject_id, category=category)
    _record_access(
        work, actor=reader, subject_id=subject_id, action=Action.SENSITIVE_READ, what=f"record:{category}"
    )
    return record


def list_categories(work: Work, *, subject_id: str) -> list[str]:
    """The categories the subject holds records under, sorted.

    Raises ``SubjectNotFound`` or ``SubjectKeyDestroyed``.
    """
    _require_subject(work, subject_id=subject_id)
    return list(
        work.session.scalars(
            select(PersonalRecord.category)
            .where(PersonalRecord.subject_id == subject_id)
            .order_by(PersonalRecord.category)
        )
    )


def erase_subject(work: Work, *, subject_id: str) -> None:
    """Erase the subject: shred their data key, then delete their records, profile and subject row.

    Shredding makes every copy of their ciphertext unreadable (backups, WAL,
    replicas) once the transaction commits; deleting the rows removes even the
    ciphertext and the blind index from the live database. The key's
    tombstone stays, so later reads answer ``SubjectKeyDestroyed`` rather than
    ``SubjectNotFound``. Raises either of those if there is no subject to erase.
    """
    _require_subject(work, subject_id=subject_id)
    work.keyring.shred(session=work.session, subject_id=subject_id)
    # Children first and explicitly: ON DELETE CASCADE is a safety net, not the mechanism.
    for model in (PersonalRecord, Profile):
        work.session.execute(delete(model).where(model.subject_id == subject_id))
    work.session.execute(delete(Subject).where(Subject.id == subject_id))


def _require_email_index(blind_index: BlindIndex) -> None:
    """Refuse another purpose's index: its digests would never match the stored ones."""
    if blind_index.purpose != EMAIL_PURPOSE:
        raise ValueError("the vault needs the email blind index: build it with vault.lookup.email_index")


def _take_email_index(*, session: Session, subject: Subject, index: bytes) -> None:
    """Give ``subject`` this email index, or raise ``EmailTaken``.

    The unique constraint decides, not a prior SELECT, so two concurrent
    attempts to take it cannot both win; the savepoint keeps the caller's transaction
    usable after the refusal.
    """
    try:
        with session.begin_nested():
            subject.email_index = index
            session.add(subject)
    except IntegrityError:
        raise EmailTaken() from None


def _absent_subject(work: Work, *, subject_id: str) -> DomainError:
    """The error for a subject with no row: erased (the key's tombstone says so) or never known."""
    try:
        work.keyring.for_subject(session=work.session, subject_id=subject_id)
    except SubjectKeyDestroyed:
        return SubjectKeyDestroyed()
    except SubjectKeyNotFound:
        pass
    return SubjectNotFound()


def _require_subject(work: Work, *, subject_id: str) -> None:
    if work.session.get(Subject, subject_id) is None:
        raise _absent_subject(work, subject_id=subject_id)


def _record_fields(work: Work, *, subject_id: str) -> SubjectFields:
    return work.subject_fields(table=PersonalRecord.__tablename__, subject_id=subject_id)


def _record_column(category: str) -> str:
    """The column label a record's ciphertext is bound to: ``data`` and its category."""
    return f"data:{category}"


def _valid_record(*, category: str, data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check what the API has already checked, for every other caller; errors name fields, not values."""
    try:
        category = _CATEGORY.validate_python(category)
    except pydantic.ValidationError:
        raise InvalidRecord("category: must match " + RECORD_CATEGORY_PATTERN) from None
    try:
        return category, _RECORD_DATA.validate_python(data)
    except pydantic.ValidationError as error:
        raise InvalidRecord("; ".join(_problem("data", item) for item in error.errors())) from None


def _problem(field: str, error: ErrorDetails) -> str:
    """Where and what, from a pydantic error, leaving out the ``input`` it also carries."""
    return ".".join(str(part) for part in (field, *error["loc"])) + ": " + error["msg"]
