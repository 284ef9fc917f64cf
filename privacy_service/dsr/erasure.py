"""Erasure here: the subject's data key shredded, their data and account deleted, a record of it kept.

The record holds keyed digests only (the email blind index and a keyed digest
of the subject id), never an identifier in clear. It is also appended to an
erasure journal outside the database, because a database restored from a
backup taken before the erasure brings the subject back together with their
wrapped data key, and forgets the record too; ``replay_erasures`` then erases
again every subject that a record or a journal line names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, user_party
from privacy_service.core.errors import DomainError
from privacy_service.core.ids import new_id
from privacy_service.crypto import BlindIndex
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrRequest, ErasureRecord
from privacy_service.identity.accounts import delete_account
from privacy_service.keys.models import SubjectKey
from privacy_service.vault import service as vault
from privacy_service.vault.models import Subject
from privacy_service.work import Work

_SCAN_BATCH = 2_000


def erase_locally(work: Work, *, fulfilment: Fulfilment, request: DsrRequest) -> bool:
    """Erase the subject of ``request`` here; False when there was nothing left to erase."""
    try:
        profile = vault.read_profile(work, subject_id=request.subject_id)
    except DomainError:
        return False
    work.session.add(
        ErasureRecord(
            id=new_id(),
            request_id=request.id,
            erased_at=work.clock.now(),
            subject_digest=fulfilment.erased_subjects.digest(request.subject_id),
            email_digest=fulfilment.emails.digest(profile.email),
        )
    )
    _erase(work, subject_id=request.subject_id, replay=False)
    return True


def _erase(work: Work, *, subject_id: str, replay: bool) -> None:
    delete_account(session=work.session, user_id=subject_id)
    if work.session.get(Subject, subject_id) is not None:
        vault.erase_subject(work, subject_id=subject_id)
    else:
        work.keyring.shred(session=work.session, subject_id=subject_id)
    # Recorded without details: anything encrypted under the shredded key would be unreadable anyway.
    audit.record(
        work,
        actor=SYSTEM,
        action=Action.ERASURE_REPLAY if replay else Action.SENSITIVE_DELETE,
        target=user_party(subject_id),
        outcome=Outcome.SUCCESS,
    )


# -- the journal outside the database ------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureEntry:
    """One erasure as the journal and ``replay`` see it: when, and keyed digests of who."""

    erased_at: datetime
    subject_digest: bytes
    email_digest: bytes | None

    def to_line(self) -> str:
        return json.dumps(
            {
                "erased_at": self.erased_at.isoformat(),
                "subject_digest": self.subject_digest.hex(),
                "email_digest": self.email_digest.hex() if self.email_digest else None,
            },
            separators=(",", ":"),
        )


class JournalError(ValueError):
    """A line of the erasure journal cannot be read; the message names the file and line."""


def journal_pending_erasures(work: Work, *, path: Path) -> int:
    """Append the erasure records not yet in the journal, then mark them; return how many.

    Appended (and flushed to disk) before the transaction marks them, so a
    crash in between writes a line twice at worst, which replay tolerates.
    """
    rows = work.session.scalars(
        select(ErasureRecord).where(ErasureRecord.journaled_at.is_(None)).order_by(ErasureRecord.erased_at)
    ).all()
    if not rows:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as journal:
        for row in rows:
            entry = ErasureEntry(
                erased_at=row.erased_at, subject_digest=row.subject_digest, email_digest=row.email_digest
            )
            journal.write(entry.to_line() + "\n")
        journal.flush()
        os.fsync(journal.fileno())
    now = work.clock.now()
    for row in rows:
        row.journaled_at = now
    return len(rows)


def read_journal(path: Path) -> Iterator[ErasureEntry]:
    """The journal's entries; JournalError naming the file and line for one that cannot be read."""
    with path.open(encoding="utf-8") as journal:
        for number, line in enumerate(journal, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
                erased_at = datetime.fromisoformat(value["erased_at"])
                subject_digest = bytes.fromhex(value["subject_digest"])
                email = value.get("email_digest")
                email_digest = bytes.fromhex(email) if email else None
            except (ValueError, KeyError, TypeError):
                raise JournalError(f"{path}:{number}: not an erasure journal entry") from None
            if erased_at.tzinfo is None:
                raise JournalError(f"{path}:{number}: erased_at needs a time zone")
            yield ErasureEntry(erased_at=erased_at, subject_digest=subject_digest, email_digest=email_digest)


# -- replay after a restore ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayReport:
    entries: int
    erased: int

    def to_json(self) -> dict[str, int]:
        return {"entries": self.entries, "erased": self.erased}


def replay_erasures(
    work: Work,
    *,
    emails: BlindIndex,
    erased_subjects: BlindIndex,
    since: datetime,
    journal: Iterable[ErasureEntry] = (),
) -> ReplayReport:
    """Erase again every subject an erasure since ``since`` names, in the database's records or the journal.

    Matches by the email blind index (an indexed column) and by the keyed
    digest of each subject id and data-key owner still present (a scan, as
    the ids are kept only as digests); idempotent.
    """
    entries = [
        ErasureEntry(
            erased_at=row.erased_at, subject_digest=row.subject_digest, email_digest=row.email_digest
        )
        for row in work.session.scalars(select(ErasureRecord).where(ErasureRecord.erased_at >= since))
    ]
    entries += [entry for entry in journal if entry.erased_at >= since]
    subject_digests = {entry.subject_digest for entry in entries}
    email_digests = {entry.email_digest for entry in entries if entry.email_digest is not None}
    doomed: set[str] = set()
    if email_digests:
        doomed.update(
            work.session.scalars(select(Subject.id).where(Subject.email_index.in_(list(email_digests))))
        )
    if subject_digests:
        for owner in _live_key_owners(work.session):
            if erased_subjects.digest(owner) in subject_digests:
                doomed.add(owner)
    for subject_id in sorted(doomed):
        _erase(work, subject_id=subject_id, replay=True)
    # An erasure is in the database's records and in the journal, and a crash may journal it twice:
    # each subject erased is one erasure, however many places remember it.
    return ReplayReport(entries=len(subject_digests), erased=len(doomed))


def _live_key_owners(session: Session) -> Iterator[str]:
    """Every subject id that still has a data key (in batches, constant memory)."""
    after = ""
    while True:
        batch = session.scalars(
            select(SubjectKey.subject_id)
            .where(SubjectKey.destroyed_at.is_(None), SubjectKey.subject_id > after)
            .order_by(SubjectKey.subject_id)
            .limit(_SCAN_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1]
