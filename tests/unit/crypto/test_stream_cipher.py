"""Streaming encryption: round trips, the documented layout, and refusal of every alteration of a stream."""

from __future__ import annotations

import itertools
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy_service.crypto import (
    SEGMENT_SIZE,
    DataKey,
    DecryptionFailed,
    MalformedCiphertext,
    StreamContext,
    StreamOpener,
    StreamSealer,
    generate_data_key,
)

CONTEXT = StreamContext(table="dsr_exports", column="bundle", subject_id="subject-1", row_id="request-1")
SMALL = 64  # bytes a segment: many segments from a few hundred bytes

KEY_MATERIAL = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
SALT = bytes(range(32))
PREFIX = bytes.fromhex("a0a1a2a3a4a5a6")
# Format 1 of b"The quick brown fox jumps over the lazy dog" in 16-byte segments under KEY_MATERIAL as
# key "subject-key-1" v7 with SALT and PREFIX, for dsr_exports/bundle/subject-42/request-42. Stored
# exports depend on this layout: if this test fails, sealed bundles no longer open.
GOLDEN_VALUE = b"The quick brown fox jumps over the lazy dog"
GOLDEN_CONTEXT = StreamContext(
    table="dsr_exports", column="bundle", subject_id="subject-42", row_id="request-42"
)
GOLDEN_HEADER = bytes.fromhex(
    "01"  # format of the key's name
    "0d" + b"subject-key-1".hex() + "00000007"  # key id length, key id, key version
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"  # salt
    "a0a1a2a3a4a5a6"  # nonce prefix
)
GOLDEN_SEGMENTS = [
    bytes.fromhex("41c42147bf835733729129fd2ffd8f0c1b5eab06841f688fc7d72695d96ee406"),  # ciphertext, tag
    bytes.fromhex("3ac4a68c86d6eb08006e649a7628cb97fca9caafa642de9c838353d798992980"),
    bytes.fromhex("d78a17f0fb58e2549c279ff7bc7e48fd17cfba3c5551dfbcde4b5b"),  # the last: 11 bytes
]


def make_key(key_id: str = "subject-key-1", version: int = 1) -> DataKey:
    return DataKey(key_id=key_id, version=version, material=generate_data_key())


def seal(
    value: bytes,
    *,
    key: DataKey,
    context: StreamContext = CONTEXT,
    segment_size: int = SMALL,
    pieces: int | None = None,
) -> tuple[bytes, list[bytes]]:
    """The header and the segments of ``value``, written whole or in pieces of ``pieces`` bytes."""
    segments: list[bytes] = []

    def sink(number: int, sealed: bytes) -> None:
        assert number == len(segments), "segments arrive in order, numbered from 0"
        segments.append(sealed)

    sealer = StreamSealer(key=key, context=context, sink=sink, segment_size=segment_size)
    step = pieces or max(len(value), 1)
    for start in range(0, len(value), step):
        assert sealer.write(value[start : start + step]) == len(value[start : start + step])
    assert sealer.close() == len(segments)
    return sealer.header, segments


def opened(header: bytes, segments: list[bytes], *, key: DataKey, context: StreamContext = CONTEXT) -> bytes:
    return b"".join(StreamOpener(key=key, context=context, header=header).open(segments))


@pytest.mark.parametrize("size", [0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL, 3 * SMALL + 5])
def test_a_stream_of_any_length_opens_to_the_same_bytes(size: int) -> None:
    key = make_key()
    value = os.urandom(size)
    header, segments = seal(value, key=key)
    assert opened(header, segments, key=key) == value


@pytest.mark.parametrize("size", [0, SMALL, 3 * SMALL, 3 * SMALL + 5])
def test_every_segment_but_the_last_is_full_and_the_last_is_never_empty_unless_the_value_is(
    size: int,
) -> None:
    _, segments = seal(os.urandom(size), key=make_key())
    tag = 16
    assert len(segments) == max(1, -(-size // SMALL))
    assert all(len(segment) == SMALL + tag for segment in segments[:-1])
    assert len(segments[-1]) == (size - SMALL * (len(segments) - 1)) + tag


def test_how_the_value_is_written_does_not_change_how_it_is_cut() -> None:
    key = make_key()
    value = os.urandom(5 * SMALL + 7)
    shapes = {pieces: seal(value, key=key, pieces=pieces)[1] for pieces in (1, 7, SMALL, 200, len(value))}
    lengths = {pieces: [len(segment) for segment in segments] for pieces, segments in shapes.items()}
    assert len({tuple(each) for each in lengths.values()}) == 1
    header, segments = seal(value, key=key, pieces=3)
    assert opened(header, segments, key=key) == value


def test_each_full_segment_is_handed_on_as_soon_as_a_byte_beyond_it_is_written() -> None:
    received: list[int] = []
    sealer = StreamSealer(
        key=make_key(), context=CONTEXT, sink=lambda number, _: received.append(number), segment_size=SMALL
    )
    sealer.write(bytes(SMALL))
    assert received == [], "a full segment may still be the last"
    sealer.write(bytes(SMALL + 1))
    assert received == [0, 1]
    assert sealer.close() == 3
    assert received == [0, 1, 2]


def test_the_default_segment_is_256_kib() -> None:
    key = make_key()
    value = os.urandom(SEGMENT_SIZE + 1)
    segments: list[bytes] = []
    sealer = StreamSealer(key=key, context=CONTEXT, sink=lambda _, sealed: segments.append(sealed))
    sealer.write(value)
    sealer.close()
    assert SEGMENT_SIZE == 256 * 1024
    assert [len(segment) for segment in segments] == [SEGMENT_SIZE + 16, 1 + 16]
    assert opened(sealer.header, segments, key=key) == value


def test_sealing_follows_the_documented_layout_byte_for_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([SALT, PREFIX])
    monkeypatch.setattr(os, "urandom", lambda size: next(draws)[:size])
    key = DataKey(key_id="subject-key-1", version=7, material=KEY_MATERIAL)
    header, segments = seal(GOLDEN_VALUE, key=key, context=GOLDEN_CONTEXT, segment_size=16)
    assert header == GOLDEN_HEADER

    # The same bytes, made from the primitives as the module docstring describes them.
    info = b"privacy-service/stream/v1" + b"".join(
        len(part).to_bytes(4, "big") + part
        for part in (b"dsr_exports", b"bundle", b"subject-42", b"request-42")
    )
    stream_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=info).derive(KEY_MATERIAL)
    pieces = [GOLDEN_VALUE[0:16], GOLDEN_VALUE[16:32], GOLDEN_VALUE[32:]]
    expected = [
        AESGCM(stream_key).encrypt(
            PREFIX + number.to_bytes(4, "big") + (b"\x01" if number == len(pieces) - 1 else b"\x00"),
            piece,
            GOLDEN_HEADER,
        )
        for number, piece in enumerate(pieces)
    ]
    assert segments == expected


def test_the_golden_stream_still_opens_so_stored_bundles_stay_readable() -> None:
    key = DataKey(key_id="subject-key-1", version=7, material=KEY_MATERIAL)
    assert opened(GOLDEN_HEADER, GOLDEN_SEGMENTS, key=key, context=GOLDEN_CONTEXT) == GOLDEN_VALUE


def test_two_seals_of_one_value_share_no_salt_nonce_or_ciphertext() -> None:
    key = make_key()
    value = os.urandom(3 * SMALL)
    first_header, first = seal(value, key=key)
    second_header, second = seal(value, key=key)
    assert first_header[:-39] == second_header[:-39], "the same key is named"
    assert first_header[-39:-7] != second_header[-39:-7], "salt"
    assert first_header[-7:] != second_header[-7:], "nonce prefix"
    assert not set(first) & set(second)


# -- every alteration fails with DecryptionFailed ----------------------------------------------------

VALUE = bytes(range(256)) * 2  # 8 segments of 64 bytes
ALTERATIONS = {
    "the last segment dropped": lambda s: s[:-1],
    "a middle segment dropped": lambda s: s[:3] + s[4:],
    "the first segment dropped": lambda s: s[1:],
    "a segment duplicated": lambda s: [*s[:3], s[3], *s[3:]],
    "the last segment duplicated": lambda s: [*s, s[-1]],
    "two segments swapped": lambda s: [s[0], s[2], s[1], *s[3:]],
    "the order reversed": lambda s: s[::-1],
    "an empty segment appended": lambda s: [*s, b""],
    "no segment at all": lambda s: [],
    "the last segment cut short": lambda s: [*s[:-1], s[-1][:-1]],
    "a middle segment cut short": lambda s: [*s[:2], s[2][:10], *s[3:]],
    "two segments joined": lambda s: [s[0] + s[1], *s[2:]],
}


@pytest.mark.parametrize("alteration", ALTERATIONS.values(), ids=ALTERATIONS.keys())
def test_a_stream_whose_segments_were_dropped_added_moved_or_cut_does_not_open(alteration: object) -> None:
    key = make_key()
    header, segments = seal(VALUE, key=key)
    assert len(segments) == 8
    with pytest.raises(DecryptionFailed):
        opened(header, alteration(segments), key=key)  # type: ignore[operator]


def test_every_flipped_bit_of_every_segment_is_refused() -> None:
    key = make_key()
    header, segments = seal(VALUE[:150], key=key)
    for index, segment in enumerate(segments):
        for position, bit in itertools.product(range(len(segment)), range(8)):
            altered = bytearray(segment)
            altered[position] ^= 1 << bit
            with pytest.raises(DecryptionFailed):
                opened(header, [*segments[:index], bytes(altered), *segments[index + 1 :]], key=key)


def test_a_segment_of_another_stream_does_not_open_in_its_place_even_of_the_same_value_and_context() -> None:
    key = make_key()
    header, segments = seal(VALUE, key=key)
    other_header, others = seal(VALUE, key=key)
    for index in range(len(segments)):
        mixed = [*segments[:index], others[index], *segments[index + 1 :]]
        with pytest.raises(DecryptionFailed):
            opened(header, mixed, key=key)
    with pytest.raises(DecryptionFailed):
        opened(other_header, segments, key=key)


def test_a_truncated_stream_hands_on_only_the_verified_segments_before_it_fails() -> None:
    key = make_key()
    header, segments = seal(VALUE, key=key)
    plaintexts = StreamOpener(key=key, context=CONTEXT, header=header).open(segments[:5])
    received = [next(plaintexts) for _ in range(4)]
    assert b"".join(received) == VALUE[: 4 * SMALL], "four verified segments"
    with pytest.raises(DecryptionFailed):
        next(plaintexts)  # the fifth was sealed as not the last: the stream was cut


@pytest.mark.parametrize(
    "context",
    [
        StreamContext(table="profiles", column="bundle", subject_id="subject-1", row_id="request-1"),
        StreamContext(table="dsr_exports", column="result", subject_id="subject-1", row_id="request-1"),
        StreamContext(table="dsr_exports", column="bundle", subject_id="subject-2", row_id="request-1"),
        StreamContext(table="dsr_exports", column="bundle", subject_id="subject-1", row_id="request-2"),
    ],
    ids=["another table", "another column", "another subject", "another row"],
)
def test_a_stream_moved_to_another_place_does_not_open(context: StreamContext) -> None:
    key = make_key()
    header, segments = seal(VALUE, key=key)
    with pytest.raises(DecryptionFailed):
        opened(header, segments, key=key, context=context)


def test_a_stream_does_not_open_under_another_key_even_one_of_the_same_name() -> None:
    key = make_key()
    header, segments = seal(VALUE, key=key)
    with pytest.raises(DecryptionFailed, match="names another data key"):
        StreamOpener(key=make_key("another-key"), context=CONTEXT, header=header)
    with pytest.raises(DecryptionFailed, match="names another data key"):
        StreamOpener(key=make_key(version=2), context=CONTEXT, header=header)
    impostor = make_key()  # same id and version, other material
    with pytest.raises(DecryptionFailed):
        opened(header, segments, key=impostor)


def test_an_altered_salt_or_nonce_prefix_is_refused() -> None:
    key = make_key()
    header, segments = seal(VALUE, key=key)
    for position in range(len(key.header), len(header)):
        altered = bytearray(header)
        altered[position] ^= 0x01
        with pytest.raises(DecryptionFailed):
            opened(bytes(altered), segments, key=key)


@pytest.mark.parametrize(
    "header",
    [b"", b"\x02", b"\x01\x00", b"\x01\x0dsubject-key-1"],
    ids=["empty", "unknown format", "no key id", "truncated key name"],
)
def test_a_header_that_names_no_key_is_malformed(header: bytes) -> None:
    with pytest.raises(MalformedCiphertext):
        StreamOpener(key=make_key(), context=CONTEXT, header=header)


def test_a_header_of_the_wrong_length_is_malformed() -> None:
    key = make_key()
    header, _ = seal(VALUE, key=key)
    for altered in (header[:-1], header + b"\x00", key.header):
        with pytest.raises(MalformedCiphertext, match="wrong length"):
            StreamOpener(key=key, context=CONTEXT, header=altered)


# -- hard to misuse ---------------------------------------------------------------------------------


def test_a_closed_stream_takes_no_more_bytes_and_is_not_closed_twice() -> None:
    segments: list[bytes] = []
    sealer = StreamSealer(key=make_key(), context=CONTEXT, sink=lambda _, sealed: segments.append(sealed))
    sealer.write(b"everything")
    sealer.close()
    with pytest.raises(ValueError, match="closed"):
        sealer.write(b"more")
    with pytest.raises(ValueError, match="closed"):
        sealer.close()
    assert len(segments) == 1, "one last segment, however often close is called"


def test_a_stream_never_closed_does_not_open() -> None:
    key = make_key()
    segments: list[bytes] = []
    sealer = StreamSealer(
        key=key, context=CONTEXT, sink=lambda _, sealed: segments.append(sealed), segment_size=SMALL
    )
    sealer.write(VALUE)  # the writer failed here, before close
    assert segments
    with pytest.raises(DecryptionFailed):
        opened(sealer.header, segments, key=key)


def test_a_segment_holds_at_least_one_byte() -> None:
    with pytest.raises(ValueError, match="at least one byte"):
        StreamSealer(key=make_key(), context=CONTEXT, sink=lambda _, __: None, segment_size=0)


@pytest.mark.parametrize(
    "parts",
    [("", "c", "s", "r"), ("t", "", "s", "r"), ("t", "c", "", "r"), ("t", "c", "s", "")],
)
def test_a_stream_context_needs_every_part(parts: tuple[str, str, str, str]) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        StreamContext(*parts)


def test_stream_contexts_encode_unambiguously() -> None:
    first = StreamContext(table="ab", column="c", subject_id="s", row_id="r")
    second = StreamContext(table="a", column="bc", subject_id="s", row_id="r")
    assert first.associated_data != second.associated_data
    assert first != second
    assert first == StreamContext(table="ab", column="c", subject_id="s", row_id="r")
