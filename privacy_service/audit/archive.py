"""Retention: move a verified prefix of the chain to a signed JSON-lines archive, then out of the database.

Only a whole prefix goes: the events from just after the previous archive up to
the last one recorded before the cut-off, and only after they verify (an
archive never launders tampering). An archive record, signed like a
checkpoint, states which events left and what their lines hash to; it stays in
the database and anchors the rest of the chain, which verifies from it. The
database's trigger lets an event be deleted only at or before the newest
archive record's ``through_seq``, and on PostgreSQL only the owner role may
delete at all or write archive records, so ``privacy-service audit archive``
runs with the owner's database URL.

The archive file (UTF-8, one JSON object per line, keys sorted, no spaces)::

    {"action": ..., "actor_id": ..., ..., "details": base64 or null, "hash": ..., "prev_hash": ...,
     "seq": 1, "sealed_at": ..., ...}                       one line per event, in seq order
    {"archive": {"number", "first_seq", "through_seq", "hash", "before", "digest", "at",
                 "key_id", "signature"}}                    the signed statement, last

An event a shop recorded also has ``"recorded_by"`` (the client); other events'
lines have no such key, exactly as before shops' events existed.

``digest`` is the SHA-256 (hex) of every event line's exact bytes, newline
included; ``signature`` (hex) is Ed25519 over ``archive_message`` in
``canonical.py``. ``verify_archive`` checks all of it and names the first bad line.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import IO, Any, Final

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from privacy_service.audit.canonical import (
    CHAINED_EVENT_COLUMNS,
    GENESIS_HASH,
    ChainedEvent,
    archive_message,
    format_instant,
)
from privacy_service.audit.checkpoints import ensure_signing_key, public_keys, unwrap_signing_key
from privacy_service.audit.errors import AuditError
from privacy_service.audit.models import AuditArchive, AuditEvent
from privacy_service.audit.verify import VerificationReport, verify_chain
from privacy_service.crypto import CryptoError, KeyProvider
from privacy_service.crypto.signing import sign, verify_signature
from privacy_service.work import Work

BATCH_SIZE: Final = 1000
_STATEMENT_KEY: Final = "archive"


class ArchiveProblem(StrEnum):
    ALTERED = "altered"
    BAD_SIGNATURE = "bad_signature"
    BROKEN_LINK = "broken_link"
    DIGEST_MISMATCH = "digest_mismatch"
    MALFORMED = "malformed"
    MISSING = "missing"
    NOT_RECORDED = "not_recorded"


class ArchiveInvalid(AuditError):
    """An archive file does not verify: ``problem`` says what is wrong and ``line`` (1-based) where."""

    code = "audit_archive_invalid"
    status = 422
    title = "Audit archive does not verify"

    def __init__(self, problem: ArchiveProblem, line: int) -> None:
        self.problem = problem
        self.line = line
        super().__init__(f"audit archive {problem.value} at line {line}", problem=problem.value, line=line)


class ChainNotVerified(AuditError):
    """The chain does not verify, so no part of it is archived (that would launder the break)."""

    code = "audit_chain_not_verified"
    status = 409
    title = "The audit trail does not verify; nothing was archived"

    def __init__(self, report: VerificationReport) -> None:
        self.report = report
        problem = report.problem.value if report.problem else "broken"
        super().__init__(f"audit trail broken at seq {report.first_bad_seq}: {problem}")


@dataclass(frozen=True, slots=True)
class ArchiveStatement:
    """What an archive record signs, plus its signature: as stored, and as the archive file's last line."""

    number: int
    first_seq: int
    through_seq: int
    hash: str
    before: datetime
    digest: str
    at: datetime
    key_id: str
    signature: bytes

    @classmethod
    def of(cls, row: AuditArchive) -> ArchiveStatement:
        return cls(
            number=row.number,
            first_seq=row.first_seq,
            through_seq=row.through_seq,
            hash=row.hash,
            before=row.before,
            digest=row.digest,
            at=row.at,
            key_id=row.key_id,
            signature=row.signature,
        )

    def message(self) -> bytes:
        return archive_message(
            number=self.number,
            first_seq=self.first_seq,
            through_seq=self.through_seq,
            hash=self.hash,
            before=self.before,
            digest=self.digest,
            at=self.at,
            key_id=self.key_id,
        )

    def verify_signature(self, public_keys: Mapping[str, bytes]) -> None:
        """Return quietly if signed by one of ``public_keys``; raise ``CryptoError`` otherwise."""
        public_key = public_keys.get(self.key_id)
        if public_key is None:
            raise CryptoError("unknown audit signing key")
        verify_signature(public_key=public_key, message=self.message(), signature=self.signature)

    def to_json(self) -> dict[str, str | int]:
        return {
            "number": self.number,
            "first_seq": self.first_seq,
            "through_seq": self.through_seq,
            "hash": self.hash,
            "before": format_instant(self.before),
            "digest": self.digest,
            "at": format_instant(self.at),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ArchiveStatement:
        return cls(
            number=int(value["number"]),
            first_seq=int(value["first_seq"]),
            through_seq=int(value["through_seq"]),
            hash=str(value["hash"]),
            before=datetime.fromisoformat(str(value["before"])),
            digest=str(value["digest"]),
            at=datetime.fromisoformat(str(value["at"])),
            key_id=str(value["key_id"]),
            signature=bytes.fromhex(str(value["signature"])),
        )


def _json_line(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def event_line(event: ChainedEvent) -> bytes:
    """One archived event as its line in the archive file."""
    line: dict[str, Any] = {
        "id": event.id,
        "seq": event.seq,
        "at": format_instant(event.at),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "subject_id": event.subject_id,
        "details": None if event.details is None else base64.b64encode(event.details).decode(),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "sealed_at": None if event.sealed_at is None else format_instant(event.sealed_at),
    }
    if event.recorded_by is not None:
        line["recorded_by"] = event.recorded_by
    return _json_line(line)


def event_from_json(value: Mapping[str, Any]) -> ChainedEvent:
    details = value["details"]
    sealed_at = value["sealed_at"]
    recorded_by = value.get("recorded_by")
    return ChainedEvent(
        id=str(value["id"]),
        at=datetime.fromisoformat(str(value["at"])),
        actor_type=str(value["actor_type"]),
        actor_id=str(value["actor_id"]),
        action=str(value["action"]),
        target_type=str(value["target_type"]),
        target_id=str(value["target_id"]),
        outcome=str(value["outcome"]),
        request_id=value["request_id"],
        subject_id=value["subject_id"],
        details=None if details is None else base64.b64decode(details, validate=True),
        seq=int(value["seq"]),
        prev_hash=str(value["prev_hash"]),
        hash=str(value["hash"]),
        sealed_at=None if sealed_at is None else datetime.fromisoformat(str(sealed_at)),
        recorded_by=None if recorded_by is None else str(recorded_by),
    )


def latest_archive(session: Session) -> AuditArchive | None:
    return session.scalar(select(AuditArchive).order_by(AuditArchive.number.desc()).limit(1))


def archivable_through(*, session: Session, first_seq: int, before: datetime) -> int:
    """The last seq of the longest run of sealed events from ``first_seq`` all recorded before ``before``."""
    newer = session.scalar(
        select(func.min(AuditEvent.seq)).where(AuditEvent.seq >= first_seq, AuditEvent.at >= before)
    )
    if newer is not None:
        return int(newer) - 1
    head = session.scalar(select(func.max(AuditEvent.seq)))
    return first_seq - 1 if head is None else int(head)


def _sealed_events(session: Session, *, first: int, last: int) -> Iterator[ChainedEvent]:
    after = first - 1
    while after < last:
        rows = (
            session.execute(
                select(*CHAINED_EVENT_COLUMNS)
                .where(AuditEvent.seq > after, AuditEvent.seq <= last)
                .order_by(AuditEvent.seq)
                .limit(BATCH_SIZE)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        for row in rows:
            yield ChainedEvent.from_row(row)
        after = rows[-1]["seq"]


def archive_prefix(
    work: Work, *, provider: KeyProvider, before: datetime, out: IO[bytes]
) -> ArchiveStatement | None:
    """Write the events recorded before ``before`` (a prefix) to ``out``, sign, record and delete them.

    Returns the signed statement (also written as ``out``'s last line), or None
    when no event is old enough. Raises ``ChainNotVerified`` and changes nothing
    when the chain up to the cut does not verify. Nothing is committed here: the
    caller makes ``out`` durable first, then commits, so events never leave the
    database without their archive.
    """
    previous = latest_archive(work.session)
    first_seq = 1 if previous is None else previous.through_seq + 1
    through_seq = archivable_through(session=work.session, first_seq=first_seq, before=before)
    if through_seq < first_seq:
        return None
    keys = public_keys(work.session)
    report = verify_chain(session=work.session, public_keys=keys, to_seq=through_seq)
    if not report.ok:
        raise ChainNotVerified(report)
    digest = hashlib.sha256()
    last_hash = GENESIS_HASH if previous is None else previous.hash
    for event in _sealed_events(work.session, first=first_seq, last=through_seq):
        line = event_line(event)
        digest.update(line)
        out.write(line)
        assert event.hash is not None
        last_hash = event.hash
    key = ensure_signing_key(work, provider=provider)
    unsigned = ArchiveStatement(
        number=1 if previous is None else previous.number + 1,
        first_seq=first_seq,
        through_seq=through_seq,
        hash=last_hash,
        before=before,
        digest=digest.hexdigest(),
        at=work.clock.now(),
        key_id=key.id,
        signature=b"",
    )
    private_key = unwrap_signing_key(key=key, provider=provider)
    statement = replace(unsigned, signature=sign(private_key=private_key, message=unsigned.message()))
    work.session.add(AuditArchive(**{name: getattr(statement, name) for name in ArchiveStatement.__slots__}))
    work.session.flush()  # the record first: the trigger lets only events up to its through_seq go
    work.session.execute(
        delete(AuditEvent)
        .where(AuditEvent.seq >= first_seq, AuditEvent.seq <= through_seq)
        .execution_options(synchronize_session=False)
    )
    out.write(_json_line({_STATEMENT_KEY: statement.to_json()}))
    return statement


def verify_archive(*, lines: Iterable[bytes], public_keys: Mapping[str, bytes]) -> ArchiveStatement:
    """Check an archive file's lines: signature, digest, every event's hash and link; return its statement.

    Raises ``ArchiveInvalid`` naming the first problem and its line: a bad or
    unknown signature on the last line first, then the first event line that
    no longer hashes or links, then a digest or range that disagrees with the
    signed statement.
    """
    digest = hashlib.sha256()
    statement: ArchiveStatement | None = None
    first_problem: ArchiveInvalid | None = None
    first_seq: int | None = None
    last: ChainedEvent | None = None
    number = 0
    for number, line in enumerate(lines, start=1):
        if statement is not None:
            raise ArchiveInvalid(ArchiveProblem.MALFORMED, number)  # nothing may follow the statement
        try:
            value = json.loads(line)
            if _STATEMENT_KEY in value:
                statement = ArchiveStatement.from_json(value[_STATEMENT_KEY])
                continue
            event = event_from_json(value)
        except (ValueError, KeyError, TypeError):
            raise ArchiveInvalid(ArchiveProblem.MALFORMED, number) from None
        digest.update(line)
        if first_problem is None:
            first_problem = _check_event(event, after=last, line=number)
        if first_seq is None:
            first_seq = event.seq
        last = event
    if statement is None:
        raise ArchiveInvalid(ArchiveProblem.MALFORMED, number + 1)
    try:
        statement.verify_signature(public_keys)
    except CryptoError:
        raise ArchiveInvalid(ArchiveProblem.BAD_SIGNATURE, number) from None
    if first_problem is not None:
        raise first_problem
    if digest.hexdigest() != statement.digest:
        raise ArchiveInvalid(ArchiveProblem.DIGEST_MISMATCH, number)
    if last is None or first_seq != statement.first_seq or last.seq != statement.through_seq:
        raise ArchiveInvalid(ArchiveProblem.MISSING, number)
    if last.hash != statement.hash:
        raise ArchiveInvalid(ArchiveProblem.BROKEN_LINK, number)
    return statement


def _check_event(event: ChainedEvent, *, after: ChainedEvent | None, line: int) -> ArchiveInvalid | None:
    assert event.seq is not None
    if after is None:
        if event.seq == 1 and event.prev_hash != GENESIS_HASH:
            return ArchiveInvalid(ArchiveProblem.BROKEN_LINK, line)
    else:
        assert after.seq is not None
        if event.seq != after.seq + 1:
            return ArchiveInvalid(ArchiveProblem.MISSING, line)
        if event.prev_hash != after.hash:
            return ArchiveInvalid(ArchiveProblem.BROKEN_LINK, line)
    if not event.hash_matches():
        return ArchiveInvalid(ArchiveProblem.ALTERED, line)
    return None


def check_recorded(*, session: Session, statement: ArchiveStatement) -> None:
    """Raise ``ArchiveInvalid`` (not_recorded, line 0: the file as a whole) unless the database holds
    this very archive record."""
    row = session.get(AuditArchive, statement.number)
    if row is None or ArchiveStatement.of(row) != statement:
        raise ArchiveInvalid(ArchiveProblem.NOT_RECORDED, 0)
