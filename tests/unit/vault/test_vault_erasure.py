"""Erasure: the subject's key is shredded and their rows deleted; everyone else stays readable."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from privacy_service.crypto import BlindIndex, FieldContext, decrypt_field
from privacy_service.keys.errors import SubjectKeyDestroyed
from privacy_service.keys.service import Keyring
from privacy_service.vault import service
from privacy_service.vault.errors import SubjectNotFound
from privacy_service.vault.models import PersonalRecord, Profile, Subject
from privacy_service.vault.schemas import ProfileUpdate
from privacy_service.work import Work
from tests.unit.vault.sample_profiles import ALICE, BOB, NewSubject


def _rows_of(session: Session, subject_id: str) -> tuple[int, int, int]:
    def count(model: type[Subject | Profile | PersonalRecord], column: InstrumentedAttribute[str]) -> int:
        return session.scalar(select(func.count()).select_from(model).where(column == subject_id)) or 0

    return (
        count(Subject, Subject.id),
        count(Profile, Profile.subject_id),
        count(PersonalRecord, PersonalRecord.subject_id),
    )


def test_erasing_a_subject_leaves_their_data_unreadable_and_gone_and_others_untouched(
    work: Work, session: Session, keyring: Keyring, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    alice, bob = new_subject(ALICE), new_subject(BOB)
    for subject_id in (alice, bob):
        service.put_record(work, subject_id=subject_id, category="address", data={"a": 1})
    backup_of_alices_email = session.get_one(Profile, alice).email  # a copy that outlives the rows
    key_before = keyring.for_subject(session=session, subject_id=alice)

    service.erase_subject(work, subject_id=alice)
    keyring.forget_cached()

    assert _rows_of(session, alice) == (0, 0, 0)
    with pytest.raises(SubjectKeyDestroyed) as erased:
        service.read_profile(work, subject_id=alice)
    assert (erased.value.status, erased.value.code) == (410, "subject_erased")
    with pytest.raises(SubjectKeyDestroyed):
        service.get_record(work, subject_id=alice, category="address")
    with pytest.raises(SubjectKeyDestroyed):
        service.list_categories(work, subject_id=alice)
    with pytest.raises(SubjectKeyDestroyed):
        keyring.for_subject(session=session, subject_id=alice)  # the copy can never be opened again
    assert service.find_by_email(session=session, blind_index=blind_index, email=ALICE.email) == []
    assert service.load_profiles(work, subject_ids=[alice, bob]).keys() == {bob}
    # The copy was readable before: only the key's destruction stands between it and its plaintext.
    context = FieldContext(table="profiles", column="email", subject_id=alice)
    assert (
        decrypt_field(key=key_before, ciphertext=backup_of_alices_email, context=context)
        == b"alice@example.com"
    )

    assert _rows_of(session, bob) == (1, 1, 1)
    assert service.read_profile(work, subject_id=bob) == BOB
    assert service.get_record(work, subject_id=bob, category="address") == {"a": 1}


def test_an_erased_subject_cannot_be_changed_or_erased_again(
    work: Work, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    alice = new_subject(ALICE)
    service.erase_subject(work, subject_id=alice)

    with pytest.raises(SubjectKeyDestroyed):
        service.erase_subject(work, subject_id=alice)
    with pytest.raises(SubjectKeyDestroyed):
        service.put_record(work, subject_id=alice, category="address", data={})
    with pytest.raises(SubjectKeyDestroyed):
        service.update_profile(
            work, blind_index=blind_index, subject_id=alice, changes=ProfileUpdate(given_name="Alice")
        )


def test_erasing_an_unknown_subject_is_not_found(work: Work) -> None:
    with pytest.raises(SubjectNotFound):
        service.erase_subject(work, subject_id="0" * 26)


def test_an_erased_subjects_email_is_free_for_a_new_subject(
    work: Work, session: Session, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    alice = new_subject(ALICE)
    service.erase_subject(work, subject_id=alice)

    returning = new_subject(ALICE)

    assert returning != alice
    assert service.find_by_email(session=session, blind_index=blind_index, email=ALICE.email) == [returning]
    assert service.read_profile(work, subject_id=returning) == ALICE


def test_a_shredded_key_alone_makes_the_remaining_rows_unreadable(
    work: Work, session: Session, keyring: Keyring, new_subject: NewSubject
) -> None:
    """As a restored backup taken before the rows were deleted would be: ciphertext present, key gone."""
    alice, bob = new_subject(ALICE), new_subject(BOB)
    service.put_record(work, subject_id=alice, category="address", data={})
    keyring.shred(session=session, subject_id=alice)
    keyring.forget_cached()

    assert _rows_of(session, alice) == (1, 1, 1)
    with pytest.raises(SubjectKeyDestroyed):
        service.read_profile(work, subject_id=alice)
    with pytest.raises(SubjectKeyDestroyed):
        service.get_record(work, subject_id=alice, category="address")
    assert list(service.load_profiles(work, subject_ids=[alice, bob])) == [bob]

    service.erase_subject(work, subject_id=alice)  # finishes the job
    assert _rows_of(session, alice) == (0, 0, 0)
