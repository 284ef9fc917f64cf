"""Per-subject data keys: creation, caching, crypto-shredding and online rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from privacy_service.core.clock import FrozenClock
from privacy_service.crypto import DecryptionFailed, EnvironmentKeys, LocalKeyFile, encode_key, generate_key
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.errors import (
    RotationUnsupported,
    SubjectKeyDestroyed,
    SubjectKeyExists,
    SubjectKeyNotFound,
)
from privacy_service.keys.fields import SubjectFields
from privacy_service.keys.models import SubjectKey
from privacy_service.keys.service import Keyring, add_kek_version


def uncached(keyring: Keyring) -> Keyring:
    """The same provider with a cache that keeps nothing: every read unwraps from the database."""
    return Keyring(
        provider=keyring.provider, clock=FrozenClock(), cache=DataKeyCache(max_entries=0, ttl_seconds=0)
    )


def test_a_new_subject_key_is_stored_only_wrapped(session: Session, keyring: Keyring) -> None:
    key = keyring.create(session=session, subject_id="subject-a")
    row = session.scalars(select(SubjectKey).where(SubjectKey.subject_id == "subject-a")).one()
    assert row.id == key.key_id
    assert row.wrapped is not None
    assert key.material not in row.wrapped
    assert row.kek_version == keyring.provider.current_version()


def test_a_stored_key_unwraps_to_the_same_key(session: Session, keyring: Keyring) -> None:
    created = keyring.create(session=session, subject_id="subject-a")
    loaded = uncached(keyring).for_subject(session=session, subject_id="subject-a")
    assert (loaded.key_id, loaded.material) == (created.key_id, created.material)


def test_a_subject_gets_one_key_only(session: Session, keyring: Keyring) -> None:
    keyring.create(session=session, subject_id="subject-a")
    with pytest.raises(SubjectKeyExists):
        keyring.create(session=session, subject_id="subject-a")


def test_an_unknown_subject_has_no_key(session: Session, keyring: Keyring) -> None:
    with pytest.raises(SubjectKeyNotFound):
        keyring.for_subject(session=session, subject_id="nobody")


def test_a_wrapped_key_copied_to_another_subject_does_not_unwrap(session: Session, keyring: Keyring) -> None:
    keyring.create(session=session, subject_id="victim")
    keyring.create(session=session, subject_id="attacker")
    victim = session.scalars(select(SubjectKey).where(SubjectKey.subject_id == "victim")).one()
    session.execute(
        update(SubjectKey).where(SubjectKey.subject_id == "attacker").values(wrapped=victim.wrapped)
    )
    session.expire_all()
    with pytest.raises(DecryptionFailed):
        uncached(keyring).for_subject(session=session, subject_id="attacker")


def test_a_shredded_subject_is_unreadable_while_others_stay_readable(
    session: Session, keyring: Keyring
) -> None:
    erased_key = keyring.create(session=session, subject_id="erased")
    kept_key = keyring.create(session=session, subject_id="kept")
    erased_value = SubjectFields(key=erased_key, table="profiles", subject_id="erased").encrypt(
        "email", "e@x.eu"
    )
    kept_value = SubjectFields(key=kept_key, table="profiles", subject_id="kept").encrypt("email", "k@x.eu")

    assert keyring.shred(session=session, subject_id="erased") is True

    for reader in (keyring, uncached(keyring)):
        with pytest.raises(SubjectKeyDestroyed):
            reader.for_subject(session=session, subject_id="erased")
        kept = reader.for_subject(session=session, subject_id="kept")
        assert (
            SubjectFields(key=kept, table="profiles", subject_id="kept").open("email", kept_value) == "k@x.eu"
        )
    row = session.scalars(select(SubjectKey).where(SubjectKey.subject_id == "erased")).one()
    assert (row.wrapped, row.kek_version) == (None, None)
    assert row.destroyed_at is not None
    assert erased_value is not None  # the ciphertext may survive in a backup; without the key it is noise


def test_shredding_twice_reports_nothing_left_to_destroy(session: Session, keyring: Keyring) -> None:
    keyring.create(session=session, subject_id="erased")
    assert keyring.shred(session=session, subject_id="erased") is True
    assert keyring.shred(session=session, subject_id="erased") is False


def test_many_keys_load_with_the_destroyed_and_missing_left_out(session: Session, keyring: Keyring) -> None:
    for subject in ("a", "b", "c"):
        keyring.create(session=session, subject_id=subject)
    keyring.shred(session=session, subject_id="b")
    loaded = uncached(keyring).for_subjects(session=session, subject_ids=["a", "b", "c", "missing"])
    assert sorted(loaded) == ["a", "c"]
    cached = keyring.for_subjects(session=session, subject_ids=["a", "c"])
    assert sorted(cached) == ["a", "c"]


def create_subjects(session: Session, keyring: Keyring, count: int) -> dict[str, bytes | None]:
    ciphertexts = {}
    for number in range(count):
        subject = f"subject-{number:03d}"
        key = keyring.create(session=session, subject_id=subject)
        ciphertexts[subject] = SubjectFields(key=key, table="profiles", subject_id=subject).encrypt(
            "email", subject
        )
    return ciphertexts


def assert_all_readable(session: Session, keyring: Keyring, ciphertexts: dict[str, bytes | None]) -> None:
    reader = uncached(keyring)
    for subject, ciphertext in ciphertexts.items():
        key = reader.for_subject(session=session, subject_id=subject)
        assert (
            SubjectFields(key=key, table="profiles", subject_id=subject).open("email", ciphertext) == subject
        )


def test_rotation_interrupted_half_way_then_resumed_leaves_every_key_readable(
    session: Session, keyring: Keyring, key_file: LocalKeyFile
) -> None:
    ciphertexts = create_subjects(session, keyring, 25)
    old_version = key_file.current_version()

    new_version = add_kek_version(key_file)
    assert new_version == old_version + 1
    assert keyring.stale_count(session=session) == 25

    assert keyring.rewrap_batch(session=session, batch_size=10) == 10  # then the process "crashes"
    assert keyring.stale_count(session=session) == 15
    assert_all_readable(session, keyring, ciphertexts)  # half old, half new: both unwrap

    # A fresh process on the same key file picks up where the first stopped.
    restarted = Keyring(
        provider=LocalKeyFile.open_or_create(key_file.path),
        clock=FrozenClock(),
        cache=DataKeyCache(max_entries=0, ttl_seconds=0),
    )
    while restarted.rewrap_batch(session=session, batch_size=10):
        pass
    assert restarted.stale_count(session=session) == 0
    assert_all_readable(session, restarted, ciphertexts)
    usage = {u.kek_version: (u.data_keys, u.current) for u in restarted.usage(session=session)}
    assert usage == {old_version: (0, False), new_version: (25, True)}


def test_keys_created_after_a_rotation_are_wrapped_under_the_new_version(
    session: Session, keyring: Keyring, key_file: LocalKeyFile
) -> None:
    new_version = add_kek_version(key_file)
    keyring.create(session=session, subject_id="late")
    row = session.scalars(select(SubjectKey).where(SubjectKey.subject_id == "late")).one()
    assert row.kek_version == new_version


def test_keys_from_the_environment_cannot_rotate_by_themselves() -> None:
    provider = EnvironmentKeys(
        keks={1: encode_key(generate_key())},
        blind_index_key=encode_key(generate_key()),
        pepper_key=encode_key(generate_key()),
    )
    with pytest.raises(RotationUnsupported, match="PRIVACY_KEKS"):
        add_kek_version(provider)


def test_keyring_from_settings_creates_a_private_key_file(tmp_path: Path) -> None:
    from tests.conftest import make_settings

    keyring = Keyring.from_settings(make_settings(tmp_path), clock=FrozenClock())
    key_file = tmp_path / "keys.json"
    assert key_file.exists()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert keyring.provider.current_version() == 1
