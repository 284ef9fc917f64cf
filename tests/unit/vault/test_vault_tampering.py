"""A ciphertext moved to another subject, column or category does not open: it is bound to its place."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from privacy_service.crypto import DecryptionFailed, MalformedCiphertext
from privacy_service.vault import service
from privacy_service.vault.models import PersonalRecord, Profile
from privacy_service.work import Work
from tests.unit.vault.sample_profiles import ALICE, BOB, NewSubject


def _replace_record_data(session: Session, *, subject_id: str, category: str, data: bytes) -> None:
    session.execute(
        update(PersonalRecord)
        .where(PersonalRecord.subject_id == subject_id, PersonalRecord.category == category)
        .values(data=data)
    )


def _record_data(session: Session, *, subject_id: str, category: str) -> bytes:
    return session.query(PersonalRecord.data).filter_by(subject_id=subject_id, category=category).one()[0]


def test_an_email_ciphertext_swapped_into_another_subjects_row_fails_to_open(
    work: Work, session: Session, new_subject: NewSubject
) -> None:
    alice, bob = new_subject(ALICE), new_subject(BOB)
    alice_row, bob_row = session.get_one(Profile, alice), session.get_one(Profile, bob)
    alice_row.email, bob_row.email = bob_row.email, alice_row.email
    session.flush()

    for subject_id in (alice, bob):
        with pytest.raises(DecryptionFailed):
            service.read_profile(work, subject_id=subject_id)


def test_a_ciphertext_copied_to_another_column_of_the_same_row_fails_to_open(
    work: Work, session: Session, new_subject: NewSubject
) -> None:
    alice = new_subject(ALICE)
    row = session.get_one(Profile, alice)
    row.given_name = row.family_name  # same key, same subject, another column
    session.flush()

    with pytest.raises(DecryptionFailed):
        service.read_profile(work, subject_id=alice)


def test_a_profile_ciphertext_passed_off_as_a_record_fails_to_open(
    work: Work, session: Session, new_subject: NewSubject
) -> None:
    alice = new_subject(ALICE)
    service.put_record(work, subject_id=alice, category="extra", data={})
    profile_extra = session.get_one(Profile, alice).extra
    assert profile_extra is not None
    _replace_record_data(session, subject_id=alice, category="extra", data=profile_extra)

    with pytest.raises(DecryptionFailed):
        service.get_record(work, subject_id=alice, category="extra")


def test_a_record_moved_to_another_category_of_the_same_subject_fails_to_open(
    work: Work, session: Session, new_subject: NewSubject
) -> None:
    alice = new_subject(ALICE)
    for category in ("address", "tax_id"):
        service.put_record(work, subject_id=alice, category=category, data={"v": category})
    address = _record_data(session, subject_id=alice, category="address")
    _replace_record_data(session, subject_id=alice, category="tax_id", data=address)

    with pytest.raises(DecryptionFailed):
        service.get_record(work, subject_id=alice, category="tax_id")
    assert service.get_record(work, subject_id=alice, category="address") == {"v": "address"}


def test_a_record_moved_to_another_subject_fails_to_open(
    work: Work, session: Session, new_subject: NewSubject
) -> None:
    alice, bob = new_subject(ALICE), new_subject(BOB)
    for subject_id in (alice, bob):
        service.put_record(work, subject_id=subject_id, category="address", data={})
    _replace_record_data(
        session,
        subject_id=bob,
        category="address",
        data=_record_data(session, subject_id=alice, category="address"),
    )

    with pytest.raises(DecryptionFailed):
        service.get_record(work, subject_id=bob, category="address")


def test_a_flipped_bit_or_a_truncated_ciphertext_is_refused(
    work: Work, session: Session, new_subject: NewSubject
) -> None:
    alice = new_subject(ALICE)
    row = session.get_one(Profile, alice)
    original = row.phone
    assert original is not None

    row.phone = original[:-1] + bytes([original[-1] ^ 1])
    session.flush()
    with pytest.raises(DecryptionFailed):
        service.read_profile(work, subject_id=alice)

    row.phone = original[:20]
    session.flush()
    with pytest.raises(MalformedCiphertext):
        service.read_profile(work, subject_id=alice)
