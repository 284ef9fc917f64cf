"""Streaming encryption: a value too long to hold whole, sealed and opened segment by segment.

An export bundle can run to many megabytes; sealing it as one field would
hold it whole in memory, encrypted and in clear, on the way in and on the way
out. A stream is cut instead into segments of ``SEGMENT_SIZE`` bytes (the last
one shorter, possibly empty), each sealed with AES-256-GCM as it fills and
opened as it is read. The construction follows Tink's AES-GCM-HKDF streaming
AEAD, itself the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár
("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
CRYPTO 2015):

- every stream has a key of its own: HKDF-SHA256 (RFC 5869) of the subject's
  data key, with a random 256-bit salt and, as ``info``, a label and the
  stream's context (table, column, subject and the row it belongs to);
- segment *i* is sealed under the nonce ``prefix ‖ i ‖ last``: a random
  7-byte prefix, *i* as 4 bytes big-endian, and one byte, 1 for the last
  segment and 0 for every other; the stream header is each segment's
  associated data.

So a segment opens only at its own place in its own stream: moved, dropped,
duplicated, reordered, taken from another stream (another salt, so another
key), or cut off before the segment marked last, the stream fails to open with
``DecryptionFailed``, the one error for every alteration, as the field cipher
has. Unlike a field, a stream is opened as it is read: each segment is
returned only once it has verified, and the end is known to be the end only
when the last segment has; a reader that stops at the failure has seen a
verified prefix of the value, never a byte that was not sealed as it stands.

Header layout (all integers big-endian)::

    offset  size  field
    0       6+n   the data key's name, as a field ciphertext begins: format (0x01),
                  n = key id length, key id (UTF-8), key version (4 bytes)
    6+n     32    salt of the stream key's derivation, random
    38+n    7     nonce prefix, random

Each sealed segment is the AES-256-GCM ciphertext of its plaintext followed by
the 128-bit tag. A stream key seals at most 2**32 segments (1 PiB at the
default size): the segment number is 4 bytes, and ``int.to_bytes`` refuses a
fifth rather than reuse a nonce.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy_service.crypto.errors import DecryptionFailed, MalformedCiphertext
from privacy_service.crypto.field import DataKey, _encode_part, parse_header
from privacy_service.crypto.key_material import KEY_SIZE

#: Plaintext bytes in every segment but the last: large enough that a segment's
#: 16-byte tag and its row cost little, small enough that a reader holds a few.
SEGMENT_SIZE = 256 * 1024

_LABEL = b"privacy-service/stream/v1"
_SALT_SIZE = KEY_SIZE  # Tink: a salt as long as the derived key
_NONCE_PREFIX_SIZE = 7
_SEGMENT_NUMBER_SIZE = 4
_LAST = b"\x01"
_NOT_LAST = b"\x00"

#: Where sealed segments go as they are made: called with the segment's number (0, 1, ...) and its bytes.
SegmentSink = Callable[[int, bytes], None]


@dataclass(frozen=True, slots=True)
class StreamContext:
    """Where a stream lives: its table, column, subject and row; the stream key is bound to all four.

    The row matters here where a field needs none: two streams of one subject
    in one column (two export bundles) must not open in each other's place.
    Encoded, like ``FieldContext``, as length-prefixed parts.
    """

    table: str
    column: str
    subject_id: str
    row_id: str
    associated_data: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = (self.table, self.column, self.subject_id, self.row_id)
        if not all(parts):
            raise ValueError("StreamContext needs a non-empty table, column, subject_id and row_id")
        object.__setattr__(self, "associated_data", b"".join(_encode_part(part) for part in parts))


def _stream_cipher(key: DataKey, salt: bytes, context: StreamContext) -> AESGCM:
    derivation = HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=_LABEL + context.associated_data
    )
    return AESGCM(derivation.derive(key.material))


def _nonce(prefix: bytes, number: int, *, last: bool) -> bytes:
    return prefix + number.to_bytes(_SEGMENT_NUMBER_SIZE, "big") + (_LAST if last else _NOT_LAST)


class StreamSealer:
    """Seals a stream as it is written: each full segment goes to ``sink`` at once, the last at ``close``.

    Write the value in pieces of any size, then ``close``: only then is the
    last segment sealed, marked as the last. A sealer that is never closed
    leaves a stream that does not open, so a value whose writing failed half
    way can never pass for a whole one; for the same reason this is no
    context manager (one would close it on the way out of an error).
    ``header`` is known from the start and must be stored with the segments.
    """

    __slots__ = ("_buffer", "_cipher", "_closed", "_prefix", "_sealed", "_segment_size", "_sink", "header")

    def __init__(
        self, *, key: DataKey, context: StreamContext, sink: SegmentSink, segment_size: int = SEGMENT_SIZE
    ) -> None:
        if segment_size < 1:
            raise ValueError("a segment holds at least one byte")
        salt = os.urandom(_SALT_SIZE)
        self._prefix = os.urandom(_NONCE_PREFIX_SIZE)
        self.header = key.header + salt + self._prefix
        self._cipher = _stream_cipher(key, salt, context)
        self._sink = sink
        self._segment_size = segment_size
        self._buffer = bytearray()
        self._sealed = 0
        self._closed = False

    def write(self, data: bytes) -> int:
        """Take ``data``; seal and hand on every segment it fills but one byte (which may be the last)."""
        if self._closed:
            raise ValueError("the stream is closed")
        buffer, size = self._buffer, self._segment_size
        buffer += data
        # A full segment is sealed only once a byte beyond it is written: until then it may be the last.
        start = 0
        while len(buffer) - start > size:
            self._seal(buffer[start : start + size], last=False)
            start += size
        del buffer[:start]
        return len(data)

    def close(self) -> int:
        """Seal what is left as the last segment; return how many segments the stream has."""
        if self._closed:
            raise ValueError("the stream is closed")
        self._closed = True
        self._seal(self._buffer, last=True)
        self._buffer = bytearray()
        return self._sealed

    def _seal(self, plaintext: bytearray, *, last: bool) -> None:
        nonce = _nonce(self._prefix, self._sealed, last=last)
        self._sink(self._sealed, self._cipher.encrypt(nonce, plaintext, self.header))
        self._sealed += 1


class StreamOpener:
    """Opens the segments of one sealed stream, given its header; the header is checked here, at once.

    Raises ``MalformedCiphertext`` for a header this code cannot read and
    ``DecryptionFailed`` for one that names another data key. ``open`` then
    verifies each segment before handing its plaintext on.
    """

    __slots__ = ("_cipher", "_header", "_prefix")

    def __init__(self, *, key: DataKey, context: StreamContext, header: bytes) -> None:
        if not header.startswith(key.header):
            parse_header(header)  # MalformedCiphertext if the header does not even name a key
            raise DecryptionFailed("the stream names another data key")
        salt_end = len(key.header) + _SALT_SIZE
        if len(header) != salt_end + _NONCE_PREFIX_SIZE:
            raise MalformedCiphertext("the stream header has the wrong length")
        self._header = header
        self._prefix = header[salt_end:]
        self._cipher = _stream_cipher(key, header[len(key.header) : salt_end], context)

    def open(self, segments: Iterable[bytes]) -> Iterator[bytes]:
        """Each segment's plaintext in order, once it has verified; ``DecryptionFailed`` at the first that
        does not, and when the segments end before the one sealed as the last (or go on after it).

        A segment is opened once the next one has arrived (or the segments have
        ended), since only then is it known whether it must be the last.
        """
        following = iter(segments)
        current = next(following, None)
        if current is None:
            raise DecryptionFailed("the stream has no segment")
        number = 0
        for upcoming in following:
            yield self._open(number, current, last=False)
            current, number = upcoming, number + 1
        yield self._open(number, current, last=True)

    def _open(self, number: int, sealed: bytes, *, last: bool) -> bytes:
        try:
            return self._cipher.decrypt(_nonce(self._prefix, number, last=last), sealed, self._header)
        except (InvalidTag, ValueError):
            raise DecryptionFailed(f"segment {number} of the stream did not verify in its place") from None
