"""The canonical encodings that are hashed (events) and signed (checkpoints). Change nothing here
without a new version: every stored hash and signature depends on these exact bytes.

An event's hash is ``SHA-256(JCS(object))`` as lowercase hex, where JCS is RFC
8785 canonical JSON (keys sorted, no whitespace, UTF-8, minimal escaping) and
the object is::

    {"action": str, "actor_id": str, "actor_type": str,
     "at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",            # UTC, always six fraction digits
     "details": base64 (RFC 4648 §4, padded) of the stored bytes, or null,
     "id": str, "outcome": str, "prev_hash": 64 hex, "request_id": str or null,
     "sealed_at": same format as "at", "seq": int, "subject_id": str or null,
     "target_id": str, "target_type": str, "v": 1}

An event a shop recorded (``POST /v1/audit/events``) names the client that
recorded it (``recorded_by``); it is hashed with version 2, the same object
with ``"recorded_by": str`` added and ``"v": 2``. Every other event keeps
version 1, byte for byte, so no hash stored before version 2 existed changes.

The details are hashed as stored (ciphertext when encrypted under a subject's
key), so shredding that key leaves every hash verifiable. The first event's
``prev_hash`` is ``GENESIS_HASH``. For these value types (strings, integers
below 2**53, null) Python's ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` produces exactly the RFC 8785 bytes: all keys are ASCII,
so UTF-16 and code-point key order agree.

A checkpoint signs ``b"privacy-service/audit-checkpoint/v1\\n" + JCS({"at",
"hash", "key_id", "number", "seq"})``, the prefix keeping the signature from
ever verifying as anything else. An archive record signs
``b"privacy-service/audit-archive/v1\\n" + JCS({"at", "before", "digest",
"first_seq", "hash", "key_id", "number", "through_seq"})`` likewise.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import RowMapping

from privacy_service.audit.models import AuditEvent
from privacy_service.crypto import equal_in_constant_time

GENESIS_HASH: Final = "0" * 64
EVENT_ENCODING_VERSION: Final = 1
#: Version 2 adds ``recorded_by``, for the events shops record; version 1 is every other event's.
RECORDED_EVENT_ENCODING_VERSION: Final = 2
_CHECKPOINT_PREFIX: Final = b"privacy-service/audit-checkpoint/v1\n"
_ARCHIVE_PREFIX: Final = b"privacy-service/audit-archive/v1\n"


def canonical_json(value: Mapping[str, str | int | None]) -> bytes:
    """RFC 8785 canonical JSON of a flat object of strings, small integers and nulls."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def format_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """An event's columns as they are hashed, detached from any session (verification streams these)."""

    id: str
    at: datetime
    actor_type: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    request_id: str | None
    subject_id: str | None
    details: bytes | None
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None
    sealed_at: datetime | None = None
    recorded_by: str | None = None

    @classmethod
    def of(cls, event: AuditEvent) -> ChainedEvent:
        return cls(
            id=event.id,
            at=event.at,
            actor_type=event.actor_type,
            actor_id=event.actor_id,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            outcome=event.outcome,
            request_id=event.request_id,
            subject_id=event.subject_id,
            details=event.details,
            seq=event.seq,
            prev_hash=event.prev_hash,
            hash=event.hash,
            sealed_at=event.sealed_at,
            recorded_by=event.recorded_by,
        )

    @classmethod
    def from_row(cls, row: RowMapping) -> ChainedEvent:
        return cls(**{name: row[name] for name in cls.__slots__})

    def hash_at(self, *, seq: int, prev_hash: str, sealed_at: datetime) -> str:
        """The hash this event gets, or got, when sealed at ``seq`` after ``prev_hash`` at ``sealed_at``."""
        hashed: dict[str, str | int | None] = {
            "action": self.action,
            "actor_id": self.actor_id,
            "actor_type": self.actor_type,
            "at": format_instant(self.at),
            "details": None if self.details is None else base64.b64encode(self.details).decode(),
            "id": self.id,
            "outcome": self.outcome,
            "prev_hash": prev_hash,
            "request_id": self.request_id,
            "sealed_at": format_instant(sealed_at),
            "seq": seq,
            "subject_id": self.subject_id,
            "target_id": self.target_id,
            "target_type": self.target_type,
            "v": EVENT_ENCODING_VERSION,
        }
        if self.recorded_by is not None:
            hashed["recorded_by"] = self.recorded_by
            hashed["v"] = RECORDED_EVENT_ENCODING_VERSION
        return hashlib.sha256(canonical_json(hashed)).hexdigest()

    def hash_matches(self, *, seq: int | None = None) -> bool:
        """Whether the stored hash is this sealed event's recomputed hash (at ``seq`` instead, if given)."""
        if self.seq is None or self.prev_hash is None or self.sealed_at is None or self.hash is None:
            return False
        recomputed = self.hash_at(
            seq=self.seq if seq is None else seq, prev_hash=self.prev_hash, sealed_at=self.sealed_at
        )
        return equal_in_constant_time(recomputed, self.hash)


#: The columns of ``audit_events`` that ``ChainedEvent.from_row`` reads, in its field order.
CHAINED_EVENT_COLUMNS = tuple(AuditEvent.__table__.c[name] for name in ChainedEvent.__slots__)


def checkpoint_message(*, number: int, seq: int, hash: str, at: datetime, key_id: str) -> bytes:
    """The bytes a checkpoint's signature covers."""
    body: dict[str, str | int | None] = {
        "at": format_instant(at),
        "hash": hash,
        "key_id": key_id,
        "number": number,
        "seq": seq,
    }
    return _CHECKPOINT_PREFIX + canonical_json(body)


def archive_message(
    *,
    number: int,
    first_seq: int,
    through_seq: int,
    hash: str,
    before: datetime,
    digest: str,
    at: datetime,
    key_id: str,
) -> bytes:
    """The bytes an archive record's signature covers."""
    body: dict[str, str | int | None] = {
        "at": format_instant(at),
        "before": format_instant(before),
        "digest": digest,
        "first_seq": first_seq,
        "hash": hash,
        "key_id": key_id,
        "number": number,
        "through_seq": through_seq,
    }
    return _ARCHIVE_PREFIX + canonical_json(body)
