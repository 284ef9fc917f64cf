"""Profiles: encrypted on write, opened on read, changed field by field, found by exact email only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from privacy_service.core.clock import FrozenClock
from privacy_service.core.ids import new_id
from privacy_service.crypto import BlindIndex
from privacy_service.keys.errors import SubjectKeyExists
from privacy_service.keys.service import Keyring
from privacy_service.vault import service
from privacy_service.vault.errors import EmailTaken, SubjectExists, SubjectNotFound
from privacy_service.vault.models import Profile, Subject
from privacy_service.vault.schemas import ProfileFields, ProfileUpdate
from privacy_service.work import Work
from tests.unit.vault.sample_profiles import ALICE, BOB, NewSubject


def test_a_profile_reads_back_exactly_as_written_including_non_ascii_names(
    work: Work, keyring: Keyring, new_subject: NewSubject
) -> None:
    alice, bob = new_subject(ALICE), new_subject(BOB)
    keyring.forget_cached()  # read through the wrapped keys, not the keys cached at creation

    assert service.read_profile(work, subject_id=alice) == ALICE
    assert service.read_profile(work, subject_id=bob) == BOB
    assert ALICE.country == "DE"
    assert ALICE.locale == "de-DE"


def test_a_profile_with_only_an_email_reads_back_with_empty_optional_fields(
    work: Work, session: Session, new_subject: NewSubject
) -> None:
    subject_id = new_subject(ProfileFields(email="minimal@example.com"))
    row = session.get_one(Profile, subject_id)
    assert (row.given_name, row.phone, row.extra) == (None, None, None)

    profile = service.read_profile(work, subject_id=subject_id)
    assert profile == ProfileFields(email="minimal@example.com")
    assert profile.extra == {}


def test_every_stored_profile_value_is_a_ciphertext(session: Session, new_subject: NewSubject) -> None:
    row = session.get_one(Profile, new_subject(ALICE))
    for column in ("email", "given_name", "family_name", "phone", "country", "locale", "extra"):
        value = getattr(row, column)
        assert isinstance(value, bytes)
        assert value[0] == 1  # field ciphertext format 1
        assert len(value) > 16 + 12  # at least a tag and a nonce


def test_an_update_changes_only_the_fields_sent(
    work: Work, session: Session, blind_index: BlindIndex, clock: FrozenClock, new_subject: NewSubject
) -> None:
    subject_id = new_subject(ALICE)
    row = session.get_one(Profile, subject_id)
    before = {column: getattr(row, column) for column in ("email", "given_name", "phone", "locale", "extra")}
    clock.advance(timedelta(minutes=5))

    updated = service.update_profile(
        work,
        blind_index=blind_index,
        subject_id=subject_id,
        changes=ProfileUpdate(family_name="Nowak", country="pl"),
    )

    assert updated == ALICE.model_copy(update={"family_name": "Nowak", "country": "PL"})
    assert service.read_profile(work, subject_id=subject_id) == updated
    assert {column: getattr(row, column) for column in before} == before  # untouched ciphertexts
    assert session.get_one(Subject, subject_id).updated_at == clock.now()


def test_a_field_sent_as_null_is_cleared_and_a_null_extra_empties_it(
    work: Work, session: Session, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    subject_id = new_subject(ALICE)

    updated = service.update_profile(
        work,
        blind_index=blind_index,
        subject_id=subject_id,
        changes=ProfileUpdate.model_validate({"phone": None, "extra": None}),
    )

    assert (updated.phone, updated.extra) == (None, {})
    assert service.read_profile(work, subject_id=subject_id) == updated
    row = session.get_one(Profile, subject_id)
    assert (row.phone, row.extra) == (None, None)


def test_an_update_with_nothing_sent_changes_nothing(
    work: Work, session: Session, blind_index: BlindIndex, clock: FrozenClock, new_subject: NewSubject
) -> None:
    subject_id = new_subject(ALICE)
    created_at = session.get_one(Subject, subject_id).updated_at
    clock.advance(timedelta(hours=1))

    unchanged = service.update_profile(
        work, blind_index=blind_index, subject_id=subject_id, changes=ProfileUpdate()
    )

    assert unchanged == ALICE
    assert session.get_one(Subject, subject_id).updated_at == created_at


def test_an_email_change_reindexes_and_the_old_address_no_longer_finds_the_subject(
    work: Work, session: Session, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    subject_id = new_subject(ALICE)

    service.update_profile(
        work,
        blind_index=blind_index,
        subject_id=subject_id,
        changes=ProfileUpdate(email="alice.new@example.com"),
    )

    assert service.find_by_email(session=session, blind_index=blind_index, email="alice@example.com") == []
    found = service.find_by_email(session=session, blind_index=blind_index, email="Alice.New@example.com")
    assert found == [subject_id]
    profile = service.read_profile(work, subject_id=subject_id)
    assert profile.email == "alice.new@example.com"


def test_respelling_the_same_address_keeps_the_index_and_stores_the_new_spelling(
    work: Work, session: Session, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    subject_id = new_subject(ALICE)
    index = session.get_one(Subject, subject_id).email_index

    updated = service.update_profile(
        work,
        blind_index=blind_index,
        subject_id=subject_id,
        changes=ProfileUpdate(email="Alice@Example.com"),
    )

    assert updated.email == "Alice@Example.com"
    assert session.get_one(Subject, subject_id).email_index == index


@pytest.mark.parametrize(
    "spelling",
    [
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
        " alice@example.com\t",
        "\uff21lice@Example.COM ",  # fullwidth A, folded by NFKC
    ],
)
def test_a_second_subject_with_the_same_email_in_any_spelling_is_refused(
    spelling: str, work: Work, session: Session, new_subject: NewSubject
) -> None:
    first = new_subject(ALICE)

    with pytest.raises(EmailTaken) as refused:
        new_subject(ProfileFields(email=spelling, given_name="Mallory"))

    assert refused.value.status == 409
    assert refused.value.code == "email_taken"
    assert "alice" not in refused.value.detail.lower()
    # The refusal rolled back only its savepoint: the transaction goes on, the first subject is intact.
    assert session.query(Subject).count() == 1
    assert service.read_profile(work, subject_id=first) == ALICE
    assert new_subject(BOB)


def test_changing_the_email_to_another_subjects_address_is_refused_and_changes_nothing(
    work: Work, session: Session, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    alice, bob = new_subject(ALICE), new_subject(BOB)

    with pytest.raises(EmailTaken):
        service.update_profile(
            work,
            blind_index=blind_index,
            subject_id=bob,
            changes=ProfileUpdate(email="ALICE@example.com", given_name="Robert"),
        )

    assert service.read_profile(work, subject_id=bob) == BOB
    assert service.find_by_email(session=session, blind_index=blind_index, email="bob@example.org") == [bob]
    assert service.find_by_email(session=session, blind_index=blind_index, email="alice@example.com") == [
        alice
    ]


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("alice@example.com", True),
        ("  ALICE@example.COM ", True),
        ("alice@example.co", False),
        ("alice@example.com.", False),
        ("alice", False),
        ("", False),
        ("%", False),  # no pattern matching: the digest of "%" is just another digest
    ],
)
def test_find_by_email_is_an_exact_match_of_the_normalised_address(
    query: str, matches: bool, session: Session, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    alice = new_subject(ALICE)
    new_subject(BOB)

    found = service.find_by_email(session=session, blind_index=blind_index, email=query)

    assert found == ([alice] if matches else [])


def test_a_blind_index_of_another_purpose_is_refused(work: Work, session: Session, keyring: Keyring) -> None:
    phone_index = BlindIndex(key=keyring.provider.blind_index_key(), purpose="phone")

    with pytest.raises(ValueError, match="email blind index"):
        service.create_subject(work, blind_index=phone_index, profile=ALICE)
    with pytest.raises(ValueError, match="email blind index"):
        service.find_by_email(session=session, blind_index=phone_index, email="alice@example.com")


def test_an_unknown_subject_is_not_found(work: Work, blind_index: BlindIndex) -> None:
    with pytest.raises(SubjectNotFound) as missing:
        service.read_profile(work, subject_id="0" * 26)
    assert (missing.value.status, missing.value.code) == (404, "subject_not_found")
    with pytest.raises(SubjectNotFound):
        service.update_profile(
            work,
            blind_index=blind_index,
            subject_id="0" * 26,
            changes=ProfileUpdate(given_name="Nobody"),
        )


def test_a_data_key_without_a_profile_is_still_no_subject(
    work: Work, session: Session, keyring: Keyring
) -> None:
    keyring.create(session=session, subject_id="key-only-subject")

    with pytest.raises(SubjectNotFound):
        service.read_profile(work, subject_id="key-only-subject")


def test_load_profiles_opens_many_in_the_order_asked_and_leaves_out_unknown_ids(
    work: Work, keyring: Keyring, new_subject: NewSubject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "LOAD_BATCH_SIZE", 2)  # several batches from a handful of subjects
    alice, bob = new_subject(ALICE), new_subject(BOB)
    others = [new_subject(given_name=f"Other {number}") for number in range(3)]
    keyring.forget_cached()

    asked = [others[2], "unknown-subject", bob, alice, others[0], bob, others[1]]
    profiles = service.load_profiles(work, subject_ids=asked)

    assert list(profiles) == [others[2], bob, alice, others[0], others[1]]
    assert profiles[alice] == ALICE
    assert profiles[bob] == BOB
    assert profiles[others[1]].given_name == "Other 1"
    assert service.load_profiles(work, subject_ids=[]) == {}


def test_a_subject_can_be_given_the_id_its_caller_chose(work: Work, blind_index: BlindIndex) -> None:
    chosen = new_id()

    subject = service.create_subject(work, blind_index=blind_index, profile=ALICE, subject_id=chosen)

    assert subject.id == chosen
    assert service.read_profile(work, subject_id=chosen) == ALICE


def test_a_chosen_id_already_in_use_or_once_erased_or_malformed_is_refused(
    work: Work, blind_index: BlindIndex, new_subject: NewSubject
) -> None:
    def create(subject_id: str) -> None:
        service.create_subject(work, blind_index=blind_index, profile=BOB, subject_id=subject_id)

    alice = new_subject(ALICE)
    with pytest.raises(SubjectExists) as exists:
        create(alice)
    assert (exists.value.status, exists.value.code) == (409, "subject_exists")

    service.erase_subject(work, subject_id=alice)
    with pytest.raises(SubjectKeyExists):  # an erased subject's id is never handed out again
        create(alice)

    for malformed in ("", "x" * 27):
        with pytest.raises(ValueError, match="1 to 26 characters"):
            create(malformed)
