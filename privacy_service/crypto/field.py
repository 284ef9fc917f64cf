"""Field-level encryption: one personal-data value, one self-describing ciphertext.

Each value is encrypted with AES-256-GCM (NIST SP 800-38D) under its subject's
data key. The ciphertext names the key that encrypted it, and its associated data
binds it to the table, column and subject it was written for, so a value
copied to another row, column or subject fails to decrypt.

Ciphertext layout, format 1 (all integers big-endian)::

    offset  size  field
    0       1     format (0x01)
    1       1     n = length of the key id in UTF-8 (1..255)
    2       n     key id, UTF-8
    2+n     4     key version (1..2**31-1)
    6+n     12    nonce, random
    18+n    m+16  AES-256-GCM ciphertext (m = plaintext length) and 128-bit tag

The associated data is the header (bytes ``0 .. 6+n``) followed by the
canonical encoding of the ``FieldContext``, so changing any header byte fails
the tag just as changing the body does; the nonce is authenticated by GCM
itself.

Nonces are 96 random bits. SP 800-38D §8.3 allows at most 2**32 encryptions
per key with random nonces; a data key belongs to one subject and encrypts a
handful of fields per change, orders of magnitude below that.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_service.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    InvalidKeyMaterial,
    MalformedCiphertext,
)
from privacy_service.crypto.kek import MAX_KEY_VERSION
from privacy_service.crypto.key_material import KEY_SIZE

FORMAT_VERSION = 1

_FORMAT_BYTE = FORMAT_VERSION.to_bytes(1, "big")
_MAX_KEY_ID_SIZE = 255
_VERSION_SIZE = 4
_NONCE_SIZE = 12  # 96 bits, the nonce length SP 800-38D §8.2 recommends
_TAG_SIZE = 16  # full 128-bit tag; SP 800-38D §5.2.1.2 allows shorter, we do not


def generate_data_key() -> bytes:
    """Return a fresh random 256-bit data key from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_SIZE)


def _place_prefix(table: str, column: str) -> bytes:
    """The encoded (table, column) part of the associated data."""
    return _encode_part(table) + _encode_part(column)


def _encode_part(part: str) -> bytes:
    data = part.encode()
    return len(data).to_bytes(4, "big") + data


class FieldContext:
    """Where a value lives: its table, its column and its data subject; the ciphertext is bound to it.

    Its encoding, ``associated_data``, is computed once: each part as a 4-byte
    length and then its UTF-8 bytes, so ``("ab", "c")`` and ``("a", "bc")``
    can never encode alike.
    """

    __slots__ = ("associated_data", "column", "subject_id", "table")

    table: str
    column: str
    subject_id: str
    associated_data: bytes

    def __init__(self, table: str, column: str, subject_id: str) -> None:
        if not (table and column and subject_id):
            raise ValueError("FieldContext needs a non-empty table, column and subject_id")
        assign = object.__setattr__
        assign(self, "table", table)
        assign(self, "column", column)
        assign(self, "subject_id", subject_id)
        assign(self, "associated_data", _place_prefix(table, column) + _encode_part(subject_id))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FieldContext is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldContext):
            return NotImplemented
        return (self.table, self.column, self.subject_id) == (other.table, other.column, other.subject_id)

    def __hash__(self) -> int:
        return hash((self.table, self.column, self.subject_id))

    def __repr__(self) -> str:
        return f"FieldContext(table={self.table!r}, column={self.column!r}, subject_id={self.subject_id!r})"


@dataclass(frozen=True, slots=True, eq=False)
class DataKey:
    """A subject's unwrapped 256-bit data key, ready to encrypt and open fields.

    The AES-GCM cipher and the ciphertext header are built once here, not per
    field (sealing a profile's six fields costs 1.3-1.4x the CPU otherwise:
    ``benchmarks/README.md``, "caches.py"). Two ``DataKey`` objects are equal
    only if they are the same object: compare ``key_id`` and ``version``
    instead of key material.
    """

    key_id: str
    version: int
    material: bytes = field(repr=False)
    header: bytes = field(init=False, repr=False)
    _cipher: AESGCM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_SIZE:
            raise InvalidKeyMaterial(f"data key {self.key_id!r} must be {KEY_SIZE} bytes")
        encoded_id = self.key_id.encode()
        if not 1 <= len(encoded_id) <= _MAX_KEY_ID_SIZE:
            raise ValueError(f"a key id must be 1 to {_MAX_KEY_ID_SIZE} bytes in UTF-8")
        if not 1 <= self.version <= MAX_KEY_VERSION:
            raise ValueError(f"a key version must be between 1 and {MAX_KEY_VERSION}")
        header = (
            _FORMAT_BYTE + bytes([len(encoded_id)]) + encoded_id + self.version.to_bytes(_VERSION_SIZE, "big")
        )
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "_cipher", AESGCM(self.material))


class FieldHeader(NamedTuple):
    """The key a ciphertext names: load this key to decrypt it."""

    key_id: str
    version: int


class DataKeyLookup(Protocol):
    """Finds the data key a ciphertext names (``keys/`` implements it over its cache and the KEK)."""

    def data_key(self, *, key_id: str, version: int) -> DataKey: ...


def encrypt_field(*, key: DataKey, plaintext: bytes, context: FieldContext) -> bytes:
    """Encrypt ``plaintext`` under ``key`` for ``context``; each call draws a fresh random nonce."""
    header = key.header
    nonce = os.urandom(_NONCE_SIZE)
    return header + nonce + key._cipher.encrypt(nonce, plaintext, header + context.associated_data)


def decrypt_field(*, key: DataKey, ciphertext: bytes, context: FieldContext) -> bytes:
    """Open a ciphertext made by ``encrypt_field`` under ``key`` for ``context``.

    Raises ``MalformedCiphertext`` if it cannot be parsed and
    ``DecryptionFailed`` if it names another key or does not verify (wrong key,
    context or altered bytes). Never returns unauthenticated bytes.
    """
    return _open(key, ciphertext, context.associated_data)


class TextColumns:
    """Text columns of one table that are opened together, one subject's row at a time (bulk reads).

    ``open`` gives the same guarantees as ``decrypt_field`` for each value, and
    the associated data is exactly what a ``FieldContext`` of each column
    encodes; what makes it cheap is that the (table, column) parts are encoded
    once here, and per row only the subject's part, so a load of many rows does
    little more per value than the AEAD call itself (loading 300 profiles costs
    1.4-1.5x the CPU with a ``SubjectFields.open`` per column: ``benchmarks/README.md``, "caches.py").
    """

    __slots__ = ("_places", "columns", "table")

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        if not (table and columns and all(columns)):
            raise ValueError("TextColumns needs a non-empty table and non-empty column names")
        self.table = table
        self.columns = tuple(columns)
        self._places = tuple(_place_prefix(table, column) for column in self.columns)

    def open(self, *, key: DataKey, subject_id: str, ciphertexts: Sequence[bytes | None]) -> list[str | None]:
        """The plaintexts of ``ciphertexts``, given in the order of ``columns``; NULL stays ``None``.

        Raises ``MalformedCiphertext`` or ``DecryptionFailed`` as ``decrypt_field``
        does, and ``ValueError`` when the values do not match the columns.
        """
        if not subject_id:
            raise ValueError("TextColumns.open needs a non-empty subject_id")
        if len(ciphertexts) != len(self._places):
            raise ValueError(f"expected {len(self._places)} values, one per column, got {len(ciphertexts)}")
        # The hot loop of bulk reads: per value only the header check, two slices, the
        # associated data, the AEAD call and the decoding remain; failures are explained off it.
        header = key.header
        nonce_start = len(header)
        body_start = nonce_start + _NONCE_SIZE
        decrypt = key._cipher.decrypt
        subject_part = _encode_part(subject_id)
        opened: list[str | None] = []
        for place, ciphertext in zip(self._places, ciphertexts, strict=True):
            if ciphertext is None:
                opened.append(None)
                continue
            if not ciphertext.startswith(header):
                raise _refusal(key, ciphertext)
            try:
                plaintext = decrypt(
                    ciphertext[nonce_start:body_start], ciphertext[body_start:], header + place + subject_part
                )
            except (InvalidTag, ValueError):
                raise _refusal(key, ciphertext) from None
            # Outside the ``try``: text that verified but is not UTF-8 is a caller's mistake, not tampering.
            opened.append(plaintext.decode())
        return opened


def _open(key: DataKey, ciphertext: bytes, context_data: bytes) -> bytes:
    header = key.header
    if not ciphertext.startswith(header):
        raise _refusal(key, ciphertext)
    body_start = len(header) + _NONCE_SIZE
    try:
        return key._cipher.decrypt(
            ciphertext[len(header) : body_start], ciphertext[body_start:], header + context_data
        )
    except (InvalidTag, ValueError):
        raise _refusal(key, ciphertext) from None


def _refusal(key: DataKey, ciphertext: bytes) -> CryptoError:
    """The clearest error for a ciphertext that did not open under ``key``."""
    if not ciphertext.startswith(key.header):
        parse_header(ciphertext)  # raises MalformedCiphertext if it is not a format-1 ciphertext at all
        return DecryptionFailed("the ciphertext names another data key")
    if len(ciphertext) < len(key.header) + _NONCE_SIZE + _TAG_SIZE:
        return MalformedCiphertext("ciphertext is truncated")
    return DecryptionFailed("ciphertext did not verify under its key and context")


def decrypt_field_with_lookup(*, keys: DataKeyLookup, ciphertext: bytes, context: FieldContext) -> bytes:
    """Open a ciphertext with the data key it names, as found by ``keys``."""
    key_id, version = parse_header(ciphertext)
    return decrypt_field(
        key=keys.data_key(key_id=key_id, version=version), ciphertext=ciphertext, context=context
    )


def parse_header(ciphertext: bytes) -> FieldHeader:
    """Return the key id and version a ciphertext names, checking the whole layout is plausible.

    Nothing here is authenticated yet: the answer only says which key to
    load, and ``decrypt_field`` then verifies everything.
    """
    if not ciphertext:
        raise MalformedCiphertext("ciphertext is empty")
    if ciphertext[0] != FORMAT_VERSION:
        raise MalformedCiphertext(f"unknown ciphertext format {ciphertext[0]}")
    if len(ciphertext) < 2 or ciphertext[1] == 0:
        raise MalformedCiphertext("ciphertext has no key id")
    key_id_end = 2 + ciphertext[1]
    version_end = key_id_end + _VERSION_SIZE
    if len(ciphertext) < version_end + _NONCE_SIZE + _TAG_SIZE:
        raise MalformedCiphertext("ciphertext is truncated")
    version = int.from_bytes(ciphertext[key_id_end:version_end], "big")
    if not 1 <= version <= MAX_KEY_VERSION:
        raise MalformedCiphertext("ciphertext names an invalid key version")
    try:
        key_id = ciphertext[2:key_id_end].decode()
    except UnicodeDecodeError:
        raise MalformedCiphertext("ciphertext names an invalid key id") from None
    return FieldHeader(key_id=key_id, version=version)
