"""Encrypted columns: declared in one line, encrypted and opened with the subject's data key.

A model declares ``email: Mapped[bytes | None] = encrypted_column()``; the
column holds only ciphertext. ``SubjectFields`` encrypts values for one subject in
one table and opens them again, binding each to its table, column and subject
(the associated data), so a ciphertext moved to another row or column fails
to open. Per-row keys cannot live in a column type (a type never sees the
row), so encryption is explicit, and happens in the domain service that owns the
table.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from privacy_service.crypto import (
    SEGMENT_SIZE,
    DataKey,
    FieldContext,
    SegmentSink,
    StreamContext,
    StreamOpener,
    StreamSealer,
    decrypt_field,
    encrypt_field,
)

ENCRYPTED = "encrypted"


def encrypted_column(*, nullable: bool = True) -> Mapped[Any]:
    """A column that stores one personal-data value as a self-describing AES-256-GCM ciphertext."""
    return mapped_column(LargeBinary, nullable=nullable, info={ENCRYPTED: True})


class SubjectFields:
    """Encrypt and open the values of one subject's row in one table."""

    __slots__ = ("_key", "subject_id", "table")

    def __init__(self, *, key: DataKey, table: str, subject_id: str) -> None:
        self._key = key
        self.table = table
        self.subject_id = subject_id

    def _context(self, column: str) -> FieldContext:
        return FieldContext(table=self.table, column=column, subject_id=self.subject_id)

    def encrypt(self, column: str, value: str | None) -> bytes | None:
        if value is None:
            return None
        return encrypt_field(key=self._key, plaintext=value.encode(), context=self._context(column))

    def open(self, column: str, ciphertext: bytes | None) -> str | None:
        if ciphertext is None:
            return None
        return decrypt_field(key=self._key, ciphertext=ciphertext, context=self._context(column)).decode()

    def encrypt_bytes(self, column: str, value: bytes) -> bytes:
        return encrypt_field(key=self._key, plaintext=value, context=self._context(column))

    def open_bytes(self, column: str, ciphertext: bytes) -> bytes:
        return decrypt_field(key=self._key, ciphertext=ciphertext, context=self._context(column))

    def encrypt_json(self, column: str, value: dict[str, Any]) -> bytes:
        plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
        return encrypt_field(key=self._key, plaintext=plaintext, context=self._context(column))

    def open_json(self, column: str, ciphertext: bytes) -> dict[str, Any]:
        plaintext = decrypt_field(key=self._key, ciphertext=ciphertext, context=self._context(column))
        value: dict[str, Any] = json.loads(plaintext)
        return value

    def encrypt_stream(
        self, column: str, *, row_id: str, sink: SegmentSink, segment_size: int = SEGMENT_SIZE
    ) -> StreamSealer:
        """A sealer for one long value of ``column`` in the row ``row_id``: write it, then close it.

        Each segment goes to ``sink`` as it fills; store them with the sealer's
        ``header``, which ``open_stream`` needs.
        """
        context = StreamContext(table=self.table, column=column, subject_id=self.subject_id, row_id=row_id)
        return StreamSealer(key=self._key, context=context, sink=sink, segment_size=segment_size)

    def open_stream(self, column: str, *, row_id: str, header: bytes) -> StreamOpener:
        """The opener of a value ``encrypt_stream`` sealed for this column and row; checks ``header`` now."""
        context = StreamContext(table=self.table, column=column, subject_id=self.subject_id, row_id=row_id)
        return StreamOpener(key=self._key, context=context, header=header)
