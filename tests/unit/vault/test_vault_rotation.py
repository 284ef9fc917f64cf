"""KEK rotation re-wraps data keys only: every profile and record stays readable half-way and after."""

from __future__ import annotations

from sqlalchemy.orm import Session

from privacy_service.crypto import LocalKeyFile
from privacy_service.keys.service import Keyring
from privacy_service.vault import service
from privacy_service.vault.models import Profile
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work
from tests.unit.vault.sample_profiles import ALICE, BOB, NewSubject

SUBJECTS = 5


def _assert_all_readable(work: Work, expected: dict[str, ProfileFields]) -> None:
    work.keyring.forget_cached()  # every key is unwrapped again, under whichever KEK now wraps it
    for subject_id, profile in expected.items():
        assert service.read_profile(work, subject_id=subject_id) == profile
        record = service.get_record(work, subject_id=subject_id, category="address")
        assert record == {"of": profile.email}
    work.keyring.forget_cached()
    assert service.load_profiles(work, subject_ids=list(expected)) == expected


def test_profiles_and_records_stay_readable_through_an_interrupted_and_a_finished_rotation(
    work: Work, session: Session, keyring: Keyring, key_file: LocalKeyFile, new_subject: NewSubject
) -> None:
    profiles = [ALICE, BOB] + [ProfileFields(email=f"rotated-{n}@example.com") for n in range(SUBJECTS - 2)]
    expected = {new_subject(profile): profile for profile in profiles}
    for subject_id, profile in expected.items():
        service.put_record(work, subject_id=subject_id, category="address", data={"of": profile.email})
    ciphertexts = {subject_id: session.get_one(Profile, subject_id).email for subject_id in expected}

    new_version = key_file.add_version()
    assert keyring.rewrap_batch(session=session, batch_size=2) == 2  # then the process "crashes"
    assert {usage.kek_version: usage.data_keys for usage in keyring.usage(session=session)} == {
        new_version - 1: SUBJECTS - 2,
        new_version: 2,
    }
    _assert_all_readable(work, expected)

    while keyring.rewrap_batch(session=session, batch_size=2):
        pass
    assert keyring.stale_count(session=session) == 0
    _assert_all_readable(work, expected)
    # Rotation never touched the data: only the wrapped keys changed.
    assert {subject_id: session.get_one(Profile, subject_id).email for subject_id in expected} == ciphertexts
