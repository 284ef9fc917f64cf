"""Erasure reaches backups: a subject a restored backup brought back is erased again by ``replay_erasures``.

The "backup" is a copy of the subject's rows (subject, profile, records, data
key, account) taken before the erasure, the "restore" puts them back; the
erasure itself goes through the real path, a request ended by
``closing.close_request_if_done``. Replay works from the database's erasure
records and, since a restored database may predate them, from the journal
kept outside the database alone.
"""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from privacy_service.core.clock import FrozenClock
from privacy_service.core.db import Base
from privacy_service.core.errors import DomainError
from privacy_service.dsr.closing import close_request_if_done
from privacy_service.dsr.erasure import (
    ErasureEntry,
    JournalError,
    ReplayReport,
    journal_pending_erasures,
    read_journal,
    replay_erasures,
)
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrRequest, ErasureRecord
from privacy_service.identity.models import User
from privacy_service.keys.errors import SubjectKeyDestroyed
from privacy_service.keys.models import SubjectKey
from privacy_service.keys.service import Keyring
from privacy_service.policy import RequestType
from privacy_service.vault import service as vault
from privacy_service.work import Work
from tests.unit.dsr.conftest import FileRequest, NewCustomer

# What a backup holds of one subject, parents first; each with the column naming the subject.
SUBJECT_TABLES = (
    ("subjects", "id"),
    ("subject_keys", "subject_id"),
    ("profiles", "subject_id"),
    ("personal_records", "subject_id"),
    ("users", "id"),
)
Backup = dict[str, list[dict[str, Any]]]


def back_up(session: Session, subject_id: str) -> Backup:
    backup: Backup = {}
    for name, column in SUBJECT_TABLES:
        table: Table = Base.metadata.tables[name]
        rows = session.execute(select(table).where(table.c[column] == subject_id)).mappings().all()
        backup[name] = [dict(row) for row in rows]
    assert all(backup[name] for name, _ in SUBJECT_TABLES), "the subject has a row in every table"
    return backup


def restore(session: Session, subject_id: str, backup: Backup) -> None:
    """Put the subject's rows back as they were in the backup (the key's tombstone gives way to the key)."""
    for name, column in reversed(SUBJECT_TABLES):
        table = Base.metadata.tables[name]
        session.execute(delete(table).where(table.c[column] == subject_id))
    for name, _column in SUBJECT_TABLES:
        session.execute(insert(Base.metadata.tables[name]), backup[name])
    session.flush()
    session.expunge_all()


def erase_through_a_request(
    work: Work, fulfilment: Fulfilment, file_request: FileRequest, subject_id: str
) -> DsrRequest:
    """File an erasure (no downstream system is registered) and let it end: it erases the subject here."""
    request = file_request(subject_id, RequestType.ERASURE)
    assert close_request_if_done(work, fulfilment=fulfilment, request_id=request.id)
    assert request.status == "completed"
    work.session.flush()
    work.session.expunge_all()
    return request


def is_erased(work: Work, subject_id: str) -> bool:
    """The profile cannot be read, the data key is a tombstone, the account is gone."""
    session = work.session
    session.expunge_all()
    try:
        vault.read_profile(work, subject_id=subject_id)
    except DomainError:
        readable = False
    else:
        readable = True
    key = session.scalar(select(SubjectKey).where(SubjectKey.subject_id == subject_id))
    accounts = session.scalar(select(func.count()).select_from(User).where(User.id == subject_id))
    return (
        not readable
        and key is not None
        and key.wrapped is None
        and key.destroyed_at is not None
        and (accounts == 0)
    )


def is_intact(work: Work, subject_id: str, email: str) -> bool:
    work.session.expunge_all()
    profile = vault.read_profile(work, subject_id=subject_id)
    accounts = work.session.scalar(select(func.count()).select_from(User).where(User.id == subject_id))
    return profile.email == email and accounts == 1


def replay(
    work: Work, fulfilment: Fulfilment, *, since_days: float = 1, journal: list[ErasureEntry] | None = None
) -> ReplayReport:
    return replay_erasures(
        work,
        emails=fulfilment.emails,
        erased_subjects=fulfilment.erased_subjects,
        since=work.clock.now() - timedelta(days=since_days),
        journal=journal or [],
    )


@pytest.fixture
def erased_and_restored(
    work: Work,
    session: Session,
    fulfilment: Fulfilment,
    clock: FrozenClock,
    file_request: FileRequest,
    new_customer: NewCustomer,
    tmp_path: Path,
) -> tuple[str, str, str, Path]:
    """A customer erased and brought back by a restore, an unrelated customer; and the erasure journal."""
    erased = new_customer(email="erase.me@example.net", given_name="Grete")
    vault.put_record(work, subject_id=erased, category="shipping_address", data={"street": "Hafenstraße 17"})
    bystander_email = "stay.here@example.net"
    bystander = new_customer(email=bystander_email)
    backup = back_up(session, erased)

    erase_through_a_request(work, fulfilment, file_request, erased)
    assert is_erased(work, erased)
    journal = tmp_path / "erasure-journal.jsonl"
    assert journal_pending_erasures(work, path=journal) == 1

    clock.advance(timedelta(hours=3))
    restore(session, erased, backup)
    assert is_intact(work, erased, "erase.me@example.net"), "the restore brought them back"
    return erased, bystander, bystander_email, journal


def test_replay_from_the_database_records_erases_a_restored_subject_again(
    work: Work, session: Session, fulfilment: Fulfilment, erased_and_restored: tuple[str, str, str, Path]
) -> None:
    erased, bystander, bystander_email, _journal = erased_and_restored

    report = replay(work, fulfilment)

    assert (report.entries, report.erased) == (1, 1)
    assert is_erased(work, erased)
    assert session.scalar(select(func.count()).select_from(Base.metadata.tables["personal_records"])) == 0
    assert is_intact(work, bystander, bystander_email)


def test_replay_from_the_journal_alone_erases_a_subject_whose_erasure_record_the_restore_lost(
    work: Work, session: Session, fulfilment: Fulfilment, erased_and_restored: tuple[str, str, str, Path]
) -> None:
    erased, bystander, bystander_email, journal = erased_and_restored
    session.execute(delete(ErasureRecord))  # the backup predates the erasure and its record

    assert replay(work, fulfilment) == ReplayReport(entries=0, erased=0)
    assert is_intact(work, erased, "erase.me@example.net"), "the database alone has forgotten"

    report = replay(work, fulfilment, journal=list(read_journal(journal)))
    assert (report.entries, report.erased) == (1, 1)
    assert is_erased(work, erased)
    assert is_intact(work, bystander, bystander_email)


def test_replay_finds_a_restored_subject_by_its_id_digest_when_the_email_digest_is_missing(
    work: Work, session: Session, fulfilment: Fulfilment, erased_and_restored: tuple[str, str, str, Path]
) -> None:
    erased, bystander, bystander_email, journal = erased_and_restored
    session.execute(delete(ErasureRecord))
    [entry] = read_journal(journal)
    by_id_only = ErasureEntry(
        erased_at=entry.erased_at, subject_digest=entry.subject_digest, email_digest=None
    )

    assert replay(work, fulfilment, journal=[by_id_only]).erased == 1
    assert is_erased(work, erased)
    assert is_intact(work, bystander, bystander_email)


def test_replay_is_idempotent(
    work: Work, fulfilment: Fulfilment, erased_and_restored: tuple[str, str, str, Path]
) -> None:
    erased, bystander, bystander_email, journal = erased_and_restored
    entries = list(read_journal(journal))
    assert replay(work, fulfilment, journal=entries).erased == 1

    again = replay(work, fulfilment, journal=entries)

    assert (again.entries, again.erased) == (1, 0)  # the record and its journal line are one erasure
    assert is_erased(work, erased)
    assert is_intact(work, bystander, bystander_email)


def test_replay_counts_each_erasure_once_though_the_database_and_the_journal_both_hold_it(
    work: Work, fulfilment: Fulfilment, file_request: FileRequest, new_customer: NewCustomer, tmp_path: Path
) -> None:
    journal = tmp_path / "erasure-journal.jsonl"
    for _ in range(2):
        erase_through_a_request(work, fulfilment, file_request, new_customer())
    assert journal_pending_erasures(work, path=journal) == 2
    entries = list(read_journal(journal))
    crash_journaled_twice = entries + entries[:1]

    report = replay(work, fulfilment, journal=crash_journaled_twice)

    assert report == ReplayReport(entries=2, erased=0)


def test_replay_leaves_alone_erasures_older_than_since(
    work: Work, fulfilment: Fulfilment, erased_and_restored: tuple[str, str, str, Path]
) -> None:
    erased, _bystander, _email, journal = erased_and_restored
    report = replay(work, fulfilment, since_days=1 / 24, journal=list(read_journal(journal)))
    assert report == ReplayReport(entries=0, erased=0)
    assert is_intact(work, erased, "erase.me@example.net")


def test_the_erasure_record_keeps_only_keyed_digests(
    work: Work,
    session: Session,
    fulfilment: Fulfilment,
    file_request: FileRequest,
    new_customer: NewCustomer,
    keyring: Keyring,
) -> None:
    email = "digest.only@example.net"
    subject = new_customer(email=email)
    request = erase_through_a_request(work, fulfilment, file_request, subject)
    record = session.scalars(select(ErasureRecord)).one()
    assert record.request_id == request.id
    assert record.subject_digest == fulfilment.erased_subjects.digest(subject)
    assert record.email_digest == fulfilment.emails.digest(email)
    assert subject.encode() not in record.subject_digest
    assert email.encode() not in (record.email_digest or b"")
    with pytest.raises(SubjectKeyDestroyed):
        keyring.for_subject(session=session, subject_id=subject)


def test_the_journal_is_written_owner_only_and_each_record_is_journaled_once(
    work: Work,
    session: Session,
    fulfilment: Fulfilment,
    clock: FrozenClock,
    file_request: FileRequest,
    new_customer: NewCustomer,
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal" / "erasures.jsonl"
    assert journal_pending_erasures(work, path=journal) == 0
    assert not journal.exists(), "nothing to journal creates no file"

    subjects = [new_customer(), new_customer()]
    for subject in subjects:
        erase_through_a_request(work, fulfilment, file_request, subject)
    assert journal_pending_erasures(work, path=journal) == 2
    assert journal_pending_erasures(work, path=journal) == 0

    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [set(line) for line in lines] == [{"erased_at", "subject_digest", "email_digest"}] * 2
    assert {line["subject_digest"] for line in lines} == {
        fulfilment.erased_subjects.digest(subject).hex() for subject in subjects
    }
    assert not any(subject in journal.read_text() for subject in subjects)
    marked = session.scalars(select(ErasureRecord.journaled_at)).all()
    assert marked == [clock.now(), clock.now()]


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ("not json at all", "not an erasure journal entry"),
        ('{"erased_at": "2026-01-15T12:00:00+00:00"}', "not an erasure journal entry"),
        (
            '{"erased_at": "2026-01-15T12:00:00+00:00", "subject_digest": "zz"}',
            "not an erasure journal entry",
        ),
        ('{"erased_at": "2026-01-15T12:00:00", "subject_digest": "ab"}', "erased_at needs a time zone"),
    ],
)
def test_a_journal_line_that_cannot_be_read_is_named_by_file_and_line(
    tmp_path: Path, bad_line: str, problem: str
) -> None:
    journal = tmp_path / "erasures.jsonl"
    good = '{"erased_at":"2026-01-15T12:00:00+00:00","subject_digest":"abcd","email_digest":null}'
    journal.write_text(f"{good}\n\n{bad_line}\n", encoding="utf-8")
    with pytest.raises(JournalError) as refused:
        list(read_journal(journal))
    assert str(refused.value) == f"{journal}:3: {problem}"
