from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from privacy_service.crypto import DecryptionFailed, MalformedCiphertext, TextColumns
from privacy_service.keys.fields import SubjectFields
from privacy_service.keys.service import Keyring


@pytest.fixture
def alice(session: Session, keyring: Keyring) -> SubjectFields:
    return SubjectFields(
        key=keyring.create(session=session, subject_id="alice"), table="profiles", subject_id="alice"
    )


def test_text_and_json_round_trip(alice: SubjectFields) -> None:
    assert alice.open("given_name", alice.encrypt("given_name", "Zoë Łukasz 李")) == "Zoë Łukasz 李"
    record = {"street": "Hauptstraße 1", "city": "München", "lines": [1, 2]}
    assert alice.open_json("data", alice.encrypt_json("data", record)) == record


def test_bytes_round_trip_and_stay_bound_to_their_column(alice: SubjectFields) -> None:
    content = bytes(range(256))
    ciphertext = alice.encrypt_bytes("bundle", content)
    assert alice.open_bytes("bundle", ciphertext) == content
    with pytest.raises(DecryptionFailed):
        alice.open_bytes("data", ciphertext)


def test_encrypted_values_open_together_as_a_row_and_refuse_a_value_moved_within_it(
    alice: SubjectFields,
) -> None:
    email, phone = alice.encrypt("email", "alice@example.com"), alice.encrypt("phone", "+49 30 1234")
    row = TextColumns("profiles", ("email", "phone", "locale"))
    assert row.open(key=alice._key, subject_id="alice", ciphertexts=(email, phone, None)) == [
        "alice@example.com",
        "+49 30 1234",
        None,
    ]
    with pytest.raises(DecryptionFailed):
        row.open(key=alice._key, subject_id="alice", ciphertexts=(phone, email, None))


def test_none_stays_none(alice: SubjectFields) -> None:
    assert alice.encrypt("phone", None) is None
    assert alice.open("phone", None) is None


def test_a_value_moved_to_another_column_does_not_open(alice: SubjectFields) -> None:
    ciphertext = alice.encrypt("given_name", "Alice")
    with pytest.raises(DecryptionFailed):
        alice.open("family_name", ciphertext)


def test_a_value_moved_to_another_table_does_not_open(alice: SubjectFields) -> None:
    ciphertext = alice.encrypt("email", "alice@example.com")
    elsewhere = SubjectFields(key=alice._key, table="users", subject_id="alice")
    with pytest.raises(DecryptionFailed):
        elsewhere.open("email", ciphertext)


def test_a_value_moved_to_another_subject_does_not_open(
    alice: SubjectFields, session: Session, keyring: Keyring
) -> None:
    bob = SubjectFields(
        key=keyring.create(session=session, subject_id="bob"), table="profiles", subject_id="bob"
    )
    with pytest.raises(DecryptionFailed):
        bob.open("email", alice.encrypt("email", "alice@example.com"))


def test_tampered_and_truncated_values_are_refused(alice: SubjectFields) -> None:
    ciphertext = alice.encrypt("email", "alice@example.com")
    assert ciphertext is not None
    flipped = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])
    with pytest.raises(DecryptionFailed):
        alice.open("email", flipped)
    with pytest.raises((MalformedCiphertext, DecryptionFailed)):
        alice.open("email", ciphertext[:20])


# -- streams: a long value sealed segment by segment, bound to its row ---------------------------------

LONG_VALUE = bytes(range(256)) * 40  # 10 KiB: 10 segments of 1 KiB


@dataclass(frozen=True)
class Stream:
    header: bytes
    segments: list[bytes]


def sealed_stream(fields: SubjectFields, *, column: str = "bundle", row_id: str = "request-1") -> Stream:
    segments: list[bytes] = []
    sealer = fields.encrypt_stream(
        column, row_id=row_id, sink=lambda _, sealed: segments.append(sealed), segment_size=1024
    )
    for start in range(0, len(LONG_VALUE), 700):
        sealer.write(LONG_VALUE[start : start + 700])
    sealer.close()
    return Stream(header=sealer.header, segments=segments)


def test_a_stream_round_trips_segment_by_segment(alice: SubjectFields) -> None:
    stream = sealed_stream(alice)
    assert len(stream.segments) == 10
    opener = alice.open_stream("bundle", row_id="request-1", header=stream.header)
    assert [len(piece) for piece in opener.open(stream.segments)] == [1024] * 10
    assert b"".join(opener.open(stream.segments)) == LONG_VALUE


def test_a_stream_moved_to_another_row_column_table_or_subject_does_not_open(
    alice: SubjectFields, session: Session, keyring: Keyring
) -> None:
    stream = sealed_stream(alice)
    elsewhere = SubjectFields(key=alice._key, table="dsr_tasks", subject_id="alice")
    bob = SubjectFields(
        key=keyring.create(session=session, subject_id="bob"), table="profiles", subject_id="bob"
    )
    for fields, column, row_id in [
        (alice, "bundle", "request-2"),
        (alice, "result", "request-1"),
        (elsewhere, "bundle", "request-1"),
    ]:
        opener = fields.open_stream(column, row_id=row_id, header=stream.header)
        with pytest.raises(DecryptionFailed):
            b"".join(opener.open(stream.segments))
    with pytest.raises(DecryptionFailed, match="another data key"):
        bob.open_stream("bundle", row_id="request-1", header=stream.header)


def test_segments_swapped_between_two_streams_of_one_row_do_not_open(alice: SubjectFields) -> None:
    first, second = sealed_stream(alice), sealed_stream(alice)
    opener = alice.open_stream("bundle", row_id="request-1", header=first.header)
    with pytest.raises(DecryptionFailed):
        b"".join(opener.open([*first.segments[:4], second.segments[4], *first.segments[5:]]))
