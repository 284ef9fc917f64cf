"""Verification: recompute the whole chain (or a range), check every link, gap and checkpoint.

It streams events and checkpoints in ``seq`` order in batches of plain rows,
so memory stays constant over millions of events, and stops at the first
problem, which it names and locates by ``seq`` in the manner of ``aws
cloudtrail validate-logs``. Only when a link breaks does it look further
(one indexed query) to tell an insertion from a reordering or a deletion.

What each problem means (``first_bad_seq`` in brackets):

- ``altered``: an event's stored columns no longer give its hash, or its hash
  was recomputed after a change so its successor's link breaks [that event];
- ``missing``: a ``seq`` is absent, or later events were renumbered over a
  deleted one [the missing seq];
- ``inserted``: an event sits where the chain has another event's successor,
  which was pushed down [the intruder's seq];
- ``reordered``: an event's predecessor comes after it [the first misplaced seq];
- ``truncated``: a checkpoint covers events that no longer exist [the first
  missing seq];
- ``checkpoint_mismatch``: the chain was rewritten up to a checkpoint's seq
  (the hashes are consistent but not the signed ones) [that seq];
- ``checkpoint_missing``: checkpoint numbers skip, or checkpoints are further
  apart than their cadence allows, up to ``now`` [the seq after the last good
  checkpoint];
- a checkpoint kept by a witness but no longer in the database is
  ``checkpoint_missing``; one beyond the stored chain is ``truncated``;
- ``bad_signature``: a checkpoint's signature does not verify under the known
  public keys (forged, altered, or an unknown key) [its seq].

In a range (``from_seq``/``to_seq``) the event just before ``from_seq`` is
trusted as the anchor, only checkpoints inside the range are checked, and a
tail beyond ``to_seq`` is not looked at.

After retention archived a prefix (``archive.py``), the chain starts just after
the newest archive record, whose signed ``(through_seq, hash)`` is the anchor;
every archive record must verify and follow on from the one before (else
``bad_signature`` or ``missing`` at its first seq), and the report names the
last archived seq (``archived_through``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_service.audit.canonical import (
    CHAINED_EVENT_COLUMNS,
    GENESIS_HASH,
    ChainedEvent,
    archive_message,
    checkpoint_message,
    format_instant,
)
from privacy_service.audit.checkpoints import CheckpointCadence
from privacy_service.audit.models import AuditArchive, AuditCheckpoint, AuditEvent
from privacy_service.audit.witness import CheckpointStatement
from privacy_service.crypto import CryptoError
from privacy_service.crypto.signing import verify_signature

DEFAULT_BATCH_SIZE = 1000


class Problem(StrEnum):
    ALTERED = "altered"
    BAD_SIGNATURE = "bad_signature"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    CHECKPOINT_MISSING = "checkpoint_missing"
    INSERTED = "inserted"
    MISSING = "missing"
    REORDERED = "reordered"
    TRUNCATED = "truncated"


@dataclass(frozen=True, slots=True)
class CheckpointSummary:
    number: int
    seq: int
    hash: str
    at: datetime
    key_id: str

    def to_json(self) -> dict[str, str | int]:
        return {
            "number": self.number,
            "seq": self.seq,
            "hash": self.hash,
            "at": format_instant(self.at),
            "key_id": self.key_id,
        }


@dataclass(frozen=True, slots=True)
class VerificationReport:
    ok: bool
    events_checked: int
    last_seq: int | None
    last_checkpoint: CheckpointSummary | None
    first_bad_seq: int | None = None
    problem: Problem | None = None
    archived_through: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "last_seq": self.last_seq,
            "last_checkpoint": None if self.last_checkpoint is None else self.last_checkpoint.to_json(),
            "first_bad_seq": self.first_bad_seq,
            "problem": None if self.problem is None else self.problem.value,
            "archived_through": self.archived_through,
        }


class _Broken(Exception):
    def __init__(self, problem: Problem, seq: int) -> None:
        self.problem = problem
        self.seq = seq


_CHECKPOINT_COLUMNS = [AuditCheckpoint.__table__.c[name] for name in CheckpointStatement.__slots__]


def _events(session: Session, *, first: int, last: int | None, batch_size: int) -> Iterator[ChainedEvent]:
    after = first - 1
    while True:
        query = select(*CHAINED_EVENT_COLUMNS).where(AuditEvent.seq > after)
        if last is not None:
            query = query.where(AuditEvent.seq <= last)
        rows = session.execute(query.order_by(AuditEvent.seq).limit(batch_size)).mappings().all()
        for row in rows:
            yield ChainedEvent.from_row(row)
        if len(rows) < batch_size:
            return
        after = rows[-1]["seq"]


def _checkpoints(
    session: Session, *, first: int, last: int | None, batch_size: int
) -> Iterator[CheckpointStatement]:
    after = 0
    while True:
        query = select(*_CHECKPOINT_COLUMNS).where(
            AuditCheckpoint.number > after, AuditCheckpoint.seq >= first
        )
        if last is not None:
            query = query.where(AuditCheckpoint.seq <= last)
        rows = session.execute(query.order_by(AuditCheckpoint.number).limit(batch_size)).mappings().all()
        for row in rows:
            yield CheckpointStatement(**row)
        if len(rows) < batch_size:
            return
        after = rows[-1]["number"]


class _ChainVerifier:
    """The state of one verification run: the last good event and checkpoint, and what has been checked."""

    def __init__(
        self,
        *,
        session: Session,
        public_keys: Mapping[str, bytes],
        cadence: CheckpointCadence | None,
        tolerance: timedelta,
    ) -> None:
        self.session = session
        self.public_keys = public_keys
        self.cadence = cadence
        self.tolerance = tolerance
        self.events_checked = 0
        self.last_seq: int | None = None
        self.last_hash = GENESIS_HASH
        self.last_checkpoint: CheckpointSummary | None = None
        self.archive: AuditArchive | None = None

    # -- archives ---------------------------------------------------------------------------------

    def check_archives(self) -> None:
        """Every archive record is signed and follows on from the one before; the newest is the anchor."""
        expected_first = 1
        for number, archive in enumerate(
            self.session.scalars(select(AuditArchive).order_by(AuditArchive.number)), 1
        ):
            if archive.number != number or archive.first_seq != expected_first:
                raise _Broken(Problem.MISSING, expected_first)  # events left without a record of it
            message = archive_message(
                number=archive.number,
                first_seq=archive.first_seq,
                through_seq=archive.through_seq,
                hash=archive.hash,
                before=archive.before,
                digest=archive.digest,
                at=archive.at,
                key_id=archive.key_id,
            )
            if not self._signed(key_id=archive.key_id, message=message, signature=archive.signature):
                raise _Broken(Problem.BAD_SIGNATURE, archive.first_seq)
            expected_first = archive.through_seq + 1
            self.archive = archive

    def _signed(self, *, key_id: str, message: bytes, signature: bytes) -> bool:
        public_key = self.public_keys.get(key_id)
        if public_key is None:
            return False
        try:
            verify_signature(public_key=public_key, message=message, signature=signature)
        except CryptoError:
            return False
        return True

    # -- events -----------------------------------------------------------------------------------

    def check_event(self, event: ChainedEvent, *, expected_seq: int) -> None:
        assert event.seq is not None
        if event.seq != expected_seq:
            raise _Broken(Problem.MISSING, expected_seq)
        if event.prev_hash != self.last_hash:
            raise self._classify_broken_link(event)
        if not event.hash_matches():
            raise _Broken(Problem.ALTERED, event.seq)
        assert event.hash is not None
        self.events_checked += 1
        self.last_seq, self.last_hash = event.seq, event.hash

    def _classify_broken_link(self, event: ChainedEvent) -> _Broken:
        assert event.seq is not None
        successor = self.session.execute(
            select(AuditEvent.seq, AuditEvent.hash).where(
                AuditEvent.prev_hash == self.last_hash, AuditEvent.id != event.id
            )
        ).first()
        if successor is None:
            if event.hash_matches(seq=event.seq + 1):
                return _Broken(Problem.MISSING, event.seq)  # deleted, and the rest renumbered over it
            if event.hash_matches() and self.last_seq is not None:
                return _Broken(Problem.ALTERED, self.last_seq)  # the predecessor was changed and rehashed
            return _Broken(Problem.ALTERED, event.seq)
        if event.prev_hash == successor.hash:
            return _Broken(Problem.REORDERED, event.seq)
        return _Broken(Problem.INSERTED, event.seq)

    # -- checkpoints ------------------------------------------------------------------------------

    def check_checkpoint(self, checkpoint: CheckpointStatement, *, chain_hash: str | None) -> None:
        """Check a checkpoint's signature, number, spacing and, when ``chain_hash`` is known, its hash."""
        self.check_signature(checkpoint)
        previous = self.last_checkpoint
        if previous is not None and (
            checkpoint.number != previous.number + 1 or self._overdue(previous.at, checkpoint.at)
        ):
            raise _Broken(Problem.CHECKPOINT_MISSING, previous.seq + 1)
        if chain_hash is not None and checkpoint.hash != chain_hash:
            raise _Broken(Problem.CHECKPOINT_MISMATCH, checkpoint.seq)
        self.last_checkpoint = CheckpointSummary(
            number=checkpoint.number,
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            at=checkpoint.at,
            key_id=checkpoint.key_id,
        )

    def check_signature(self, checkpoint: CheckpointStatement) -> None:
        message = checkpoint_message(
            number=checkpoint.number,
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            at=checkpoint.at,
            key_id=checkpoint.key_id,
        )
        if not self._signed(key_id=checkpoint.key_id, message=message, signature=checkpoint.signature):
            raise _Broken(Problem.BAD_SIGNATURE, checkpoint.seq)

    def check_witnessed(self, statement: CheckpointStatement) -> None:
        """A checkpoint a witness kept must still be in the database, and so must the chain it signed."""
        self.check_signature(statement)
        if statement.seq > (self.last_seq or 0):
            raise _Broken(Problem.TRUNCATED, (self.last_seq or 0) + 1)
        if self.archive is not None and statement.seq == self.archive.through_seq:
            if statement.hash != self.archive.hash:
                raise _Broken(Problem.CHECKPOINT_MISMATCH, statement.seq)
        elif statement.seq > 0:
            stored_hash = self.session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == statement.seq))
            if stored_hash != statement.hash:
                raise _Broken(Problem.CHECKPOINT_MISMATCH, statement.seq)
        stored = self.session.scalar(
            select(AuditCheckpoint.hash).where(AuditCheckpoint.number == statement.number)
        )
        if stored != statement.hash:
            raise _Broken(Problem.CHECKPOINT_MISSING, statement.seq)

    def _overdue(self, earlier: datetime, later: datetime) -> bool:
        if self.cadence is None:
            return False
        return later - earlier > timedelta(seconds=self.cadence.every_seconds) + self.tolerance

    def check_fresh(self, now: datetime) -> None:
        """The newest checkpoint is recent enough, else later ones (and the tail) may have been removed."""
        if self.last_checkpoint is not None and self._overdue(self.last_checkpoint.at, now):
            raise _Broken(Problem.CHECKPOINT_MISSING, self.last_checkpoint.seq + 1)


def verify_chain(
    *,
    session: Session,
    public_keys: Mapping[str, bytes],
    from_seq: int | None = None,
    to_seq: int | None = None,
    cadence: CheckpointCadence | None = None,
    now: datetime | None = None,
    tolerance: timedelta | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    witnessed: Iterable[CheckpointStatement] = (),
) -> VerificationReport:
    """Verify sealed events ``from_seq``..``to_seq`` (default: all) and the checkpoints among them.

    ``public_keys`` maps checkpoint key ids to raw Ed25519 public keys. With a
    ``cadence``, checkpoints further apart than ``every_seconds`` plus
    ``tolerance`` (default: one more interval) are reported missing, and so is
    a newest checkpoint older than that at ``now``. ``progress`` is called with
    the number of events checked after each batch. ``witnessed`` checkpoints
    (from a ``FileWitness``, say) must each verify, still be stored, and match
    the chain: this catches a tail removed together with its checkpoints.
    """
    first = 1 if from_seq is None else max(1, from_seq)
    if tolerance is None:
        tolerance = timedelta(seconds=cadence.every_seconds if cadence is not None else 0)
    verifier = _ChainVerifier(session=session, public_keys=public_keys, cadence=cadence, tolerance=tolerance)
    try:
        verifier.check_archives()
        if verifier.archive is not None:
            first = max(first, verifier.archive.through_seq + 1)
        _verify(verifier, first=first, last=to_seq, now=now, batch_size=batch_size, progress=progress)
        for statement in witnessed:
            if first - 1 <= statement.seq and (to_seq is None or statement.seq <= to_seq):
                verifier.check_witnessed(statement)
    except _Broken as broken:
        return VerificationReport(
            ok=False,
            events_checked=verifier.events_checked,
            last_seq=verifier.last_seq,
            last_checkpoint=verifier.last_checkpoint,
            first_bad_seq=broken.seq,
            problem=broken.problem,
            archived_through=None if verifier.archive is None else verifier.archive.through_seq,
        )
    return VerificationReport(
        ok=True,
        events_checked=verifier.events_checked,
        last_seq=verifier.last_seq,
        last_checkpoint=verifier.last_checkpoint,
        archived_through=None if verifier.archive is None else verifier.archive.through_seq,
    )


def _verify(
    verifier: _ChainVerifier,
    *,
    first: int,
    last: int | None,
    now: datetime | None,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> None:
    session = verifier.session
    archive = verifier.archive
    if archive is not None and first == archive.through_seq + 1:
        verifier.last_seq, verifier.last_hash = archive.through_seq, archive.hash
    elif first > 1:
        anchor = session.execute(
            select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq == first - 1)
        ).first()
        if anchor is None:
            raise _Broken(Problem.MISSING, first - 1)
        verifier.last_seq, verifier.last_hash = anchor.seq, anchor.hash
    checkpoints = _checkpoints(session, first=first - 1, last=last, batch_size=batch_size)
    checkpoint = next(checkpoints, None)
    # A checkpoint of the anchor (or of the empty chain) is checked against what precedes the range.
    while checkpoint is not None and checkpoint.seq == first - 1:
        verifier.check_checkpoint(checkpoint, chain_hash=verifier.last_hash)
        checkpoint = next(checkpoints, None)
    expected = first
    for event in _events(session, first=first, last=last, batch_size=batch_size):
        verifier.check_event(event, expected_seq=expected)
        assert event.seq is not None
        expected += 1
        while checkpoint is not None and checkpoint.seq <= event.seq:
            if checkpoint.seq < event.seq:
                # Numbered after a checkpoint of a later seq: it cannot be the chain's head at its time.
                verifier.check_checkpoint(checkpoint, chain_hash=None)
                raise _Broken(Problem.CHECKPOINT_MISMATCH, checkpoint.seq)
            verifier.check_checkpoint(checkpoint, chain_hash=verifier.last_hash)
            checkpoint = next(checkpoints, None)
        if progress is not None and verifier.events_checked % batch_size == 0:
            progress(verifier.events_checked)
    if checkpoint is not None:
        # Signed checkpoints cover events past the end of what is stored: the tail was removed.
        verifier.check_checkpoint(checkpoint, chain_hash=None)
        raise _Broken(Problem.TRUNCATED, expected)
    if progress is not None and verifier.events_checked % batch_size != 0:
        progress(verifier.events_checked)
    if now is not None and last is None:
        verifier.check_fresh(now)
