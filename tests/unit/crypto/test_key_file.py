"""LocalKeyFile: created owner-only, refused when exposed, rotated atomically, reloaded without restart."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from privacy_service.crypto import (
    InsecureKeyFile,
    InvalidKeyMaterial,
    KeyVersionInUse,
    LocalKeyFile,
    UnknownKeyVersion,
    encode_key,
    generate_data_key,
    generate_key,
)
from privacy_service.crypto import key_file as key_file_module

SUBJECT = b"subject-1"
CREATED_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "secrets" / "nested" / "keys.json"


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_key_file(path: Path, document: object) -> None:
    path.write_text(json.dumps(document))
    path.chmod(0o600)


def valid_document() -> dict[str, object]:
    return {
        "format": 1,
        "created_at": "2025-01-02T03:04:05+00:00",
        "current_version": 1,
        "keks": {"1": encode_key(generate_key())},
        "blind_index_key": encode_key(generate_key()),
        "pepper_key": encode_key(generate_key()),
    }


def test_the_key_file_is_created_owner_only_even_with_a_permissive_umask(
    path: Path, permissive_umask: None
) -> None:
    LocalKeyFile.open_or_create(path)
    assert mode_of(path) == 0o600


def test_the_first_run_creates_parent_directories_and_one_kek_version(path: Path) -> None:
    keys = LocalKeyFile.open_or_create(path, now=lambda: CREATED_AT)
    document = json.loads(path.read_text())
    assert keys.path == path
    assert keys.versions() == (1,)
    assert keys.current_version() == 1
    assert document["format"] == 1
    assert document["created_at"] == "2025-01-02T03:04:05+00:00"
    assert document["current_version"] == 1
    assert set(document["keks"]) == {"1"}
    assert document["blind_index_key"] == encode_key(keys.blind_index_key())
    assert document["pepper_key"] == encode_key(keys.pepper_key())


def test_a_second_start_reads_the_same_keys_instead_of_creating_new_ones(path: Path) -> None:
    first = LocalKeyFile.open_or_create(path)
    wrapped = first.wrap(generate_data_key(), associated_data=SUBJECT)
    second = LocalKeyFile.open_or_create(path)
    assert second.blind_index_key() == first.blind_index_key()
    assert second.unwrap(wrapped, associated_data=SUBJECT) == first.unwrap(wrapped, associated_data=SUBJECT)


def test_a_process_losing_the_first_run_race_keeps_the_winners_keys(path: Path) -> None:
    winner = LocalKeyFile.open_or_create(path)
    key_file_module._create(path, created_at=CREATED_AT)  # the loser, having seen no file a moment ago
    assert LocalKeyFile(path=path).blind_index_key() == winner.blind_index_key()
    assert sorted(p.name for p in path.parent.iterdir()) == ["keys.json"]


def test_opening_a_missing_file_without_creating_it_fails(path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        LocalKeyFile(path=path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o601, 0o610])
def test_a_key_file_granting_anything_to_group_or_others_is_refused(path: Path, mode: int) -> None:
    LocalKeyFile.open_or_create(path)
    path.chmod(mode)
    with pytest.raises(InsecureKeyFile, match=f"mode {mode:04o}") as caught:
        LocalKeyFile.open_or_create(path)
    assert str(path) in str(caught.value)
    assert caught.value.code == "insecure_key_file"


def test_a_key_file_made_readable_while_running_is_refused_at_the_next_check(path: Path) -> None:
    keys = LocalKeyFile.open_or_create(path)
    path.chmod(0o644)
    with pytest.raises(InsecureKeyFile):
        keys.wrap(generate_data_key(), associated_data=SUBJECT)


def test_an_insecure_key_file_error_does_not_contain_key_material(path: Path) -> None:
    keys = LocalKeyFile.open_or_create(path)
    path.chmod(0o644)
    with pytest.raises(InsecureKeyFile) as caught:
        LocalKeyFile(path=path)
    assert encode_key(keys.blind_index_key()) not in str(caught.value)


def test_adding_a_version_makes_it_current_and_older_versions_still_unwrap(path: Path) -> None:
    keys = LocalKeyFile.open_or_create(path)
    data_key = generate_data_key()
    old = keys.wrap(data_key, associated_data=SUBJECT)
    blind_index_key, pepper_key = keys.blind_index_key(), keys.pepper_key()

    assert keys.add_version() == 2

    assert keys.current_version() == 2
    assert keys.versions() == (1, 2)
    assert keys.unwrap(old, associated_data=SUBJECT) == data_key
    assert keys.wrap(data_key, associated_data=SUBJECT).kek_version == 2
    assert (keys.blind_index_key(), keys.pepper_key()) == (blind_index_key, pepper_key)


def test_a_rewritten_key_file_stays_owner_only_and_leaves_no_temporary_file(
    path: Path, permissive_umask: None
) -> None:
    keys = LocalKeyFile.open_or_create(path)
    keys.add_version()
    keys.retire_version(1)
    assert mode_of(path) == 0o600
    assert mode_of(path.with_name("keys.json.lock")) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["keys.json", "keys.json.lock"]


def test_a_second_process_picks_up_a_new_version_at_its_next_use(path: Path) -> None:
    writer = LocalKeyFile.open_or_create(path)
    reader = LocalKeyFile.open_or_create(path)
    assert reader.current_version() == 1

    writer.add_version()
    wrapped = writer.wrap(generate_data_key(), associated_data=SUBJECT)

    assert reader.current_version() == 2
    assert reader.unwrap(wrapped, associated_data=SUBJECT) == writer.unwrap(wrapped, associated_data=SUBJECT)


def test_an_unchanged_file_is_not_reread(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = LocalKeyFile.open_or_create(path)
    monkeypatch.setattr(key_file_module, "_read", lambda path: pytest.fail("re-read an unchanged file"))
    assert keys.current_version() == 1


def test_concurrent_rotations_from_two_processes_lose_no_version(path: Path) -> None:
    first = LocalKeyFile.open_or_create(path)
    second = LocalKeyFile.open_or_create(path)  # its copy still says (1,)
    assert first.add_version() == 2
    assert second.add_version() == 3
    assert first.versions() == (1, 2, 3)
    assert first.current_version() == 3


def test_a_retired_version_can_no_longer_unwrap(path: Path) -> None:
    keys = LocalKeyFile.open_or_create(path)
    old = keys.wrap(generate_data_key(), associated_data=SUBJECT)
    keys.add_version()
    keys.retire_version(1)
    assert keys.versions() == (2,)
    with pytest.raises(UnknownKeyVersion):
        keys.unwrap(old, associated_data=SUBJECT)


def test_the_current_version_cannot_be_retired(path: Path) -> None:
    keys = LocalKeyFile.open_or_create(path)
    with pytest.raises(KeyVersionInUse) as caught:
        keys.retire_version(1)
    assert caught.value.status == 409
    assert keys.versions() == (1,)


def test_retiring_a_version_never_held_is_refused(path: Path) -> None:
    keys = LocalKeyFile.open_or_create(path)
    keys.add_version()
    with pytest.raises(UnknownKeyVersion):
        keys.retire_version(7)
    assert keys.versions() == (1, 2)


def test_a_hand_written_valid_key_file_is_accepted(path: Path) -> None:
    path.parent.mkdir(parents=True)
    document = valid_document()
    write_key_file(path, document)
    keys = LocalKeyFile(path=path)
    assert encode_key(keys.blind_index_key()) == document["blind_index_key"]
    assert encode_key(keys.pepper_key()) == document["pepper_key"]
    assert keys.versions() == (1,)


def broken(**changes: object) -> dict[str, object]:
    return valid_document() | changes


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json at all", "not a valid key file"),
        ([1, 2, 3], "not a valid key file"),
        ({"format": 1}, "not a valid key file"),
        (broken(format=2), "unsupported format"),
        (broken(keks=["not", "a", "mapping"]), "not a valid key file"),
        (broken(keks={"one": encode_key(generate_key())}), "not a valid key file"),
        (broken(keks={"1": 12345}), "not a valid key file"),
        (broken(keks={"1": "not base64!"}), "kek v1: not valid base64"),
        (broken(current_version="1"), "not a valid key file"),
        (broken(current_version=2), "current KEK version 2"),
        (broken(pepper_key=encode_key(b"short")), "pepper key: must decode to 32 bytes"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "missing-fields",
        "future-format",
        "keks-not-a-mapping",
        "version-not-a-number",
        "key-not-a-string",
        "key-not-base64",
        "current-version-a-string",
        "current-version-absent",
        "short-pepper",
    ],
)
def test_a_malformed_key_file_is_refused_with_a_reason(path: Path, document: object, message: str) -> None:
    path.parent.mkdir(parents=True)
    if isinstance(document, str):
        path.write_text(document)
        path.chmod(0o600)
    else:
        write_key_file(path, document)
    with pytest.raises(InvalidKeyMaterial, match=message):
        LocalKeyFile(path=path)
