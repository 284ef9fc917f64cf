"""Retention: a verified prefix goes to a signed archive file and out of the database; the rest verifies
from the archive record, and only an archived prefix can ever be deleted."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Table, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacy_service.audit import (
    CheckpointCadence,
    ensure_signing_key,
    public_keys,
    seal_pending_events,
    verify_chain,
    write_checkpoint,
)
from privacy_service.audit.archive import (
    ArchiveInvalid,
    ArchiveProblem,
    ArchiveStatement,
    ChainNotVerified,
    archive_prefix,
    check_recorded,
    event_from_json,
    event_line,
    verify_archive,
)
from privacy_service.audit.models import AuditArchive, AuditEvent
from privacy_service.audit.sealer import chain_head
from privacy_service.audit.verify import Problem
from privacy_service.core.clock import FrozenClock
from privacy_service.crypto import LocalKeyFile
from privacy_service.work import Work
from tests.unit.audit.conftest import RecordEvents
from tests.unit.audit.tampering import drop_guards, set_columns


def archive(work: Work, key_file: LocalKeyFile, before: datetime) -> tuple[ArchiveStatement | None, bytes]:
    out = io.BytesIO()
    statement = archive_prefix(work, provider=key_file, before=before, out=out)
    return statement, out.getvalue()


def check_file(session: Session, content: bytes) -> ArchiveStatement:
    return verify_archive(lines=io.BytesIO(content), public_keys=public_keys(session))


def remaining_seqs(session: Session) -> list[int | None]:
    return list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))


@pytest.fixture
def chain_of_five(key_file: LocalKeyFile, record_events: RecordEvents, work: Work) -> list[AuditEvent]:
    """Five sealed events recorded 1 ms apart, with a checkpoint of the head."""
    events = record_events(5)
    seal_pending_events(work)
    ensure_signing_key(work, provider=key_file)
    write_checkpoint(work, provider=key_file, cadence=CheckpointCadence(), force=True)
    return sorted(events, key=lambda event: event.seq or 0)


def test_archiving_removes_the_old_prefix_and_the_rest_still_verifies_from_the_archive(
    session: Session, work: Work, key_file: LocalKeyFile, chain_of_five: list[AuditEvent]
) -> None:
    statement, content = archive(work, key_file, before=chain_of_five[3].at)
    assert statement is not None
    assert (statement.first_seq, statement.through_seq, statement.hash) == (1, 3, chain_of_five[2].hash)
    assert remaining_seqs(session) == [4, 5]
    report = verify_chain(session=session, public_keys=public_keys(session))
    assert report.ok
    assert report.events_checked == 2
    assert report.archived_through == 3
    assert report.to_json()["archived_through"] == 3
    assert len(content.splitlines()) == 4  # three events and the signed statement


def test_the_archive_file_verifies_and_matches_the_record_in_the_database(
    session: Session, work: Work, key_file: LocalKeyFile, chain_of_five: list[AuditEvent]
) -> None:
    statement, content = archive(work, key_file, before=chain_of_five[3].at)
    assert check_file(session, content) == statement
    check_recorded(session=session, statement=statement)
    lines = content.splitlines()
    assert json.loads(lines[0])["hash"] == chain_of_five[0].hash
    assert "archive" in json.loads(lines[-1])


def test_a_second_archive_follows_on_from_the_first(
    session: Session, work: Work, key_file: LocalKeyFile, chain_of_five: list[AuditEvent]
) -> None:
    first, _ = archive(work, key_file, before=chain_of_five[1].at)
    second, content = archive(work, key_file, before=chain_of_five[4].at)
    assert first is not None
    assert second is not None
    assert (second.number, second.first_seq, second.through_seq) == (2, 2, 4)
    assert json.loads(content.splitlines()[0])["prev_hash"] == first.hash
    assert check_file(session, content) == second
    assert remaining_seqs(session) == [5]
    assert verify_chain(session=session, public_keys=public_keys(session)).ok


def test_nothing_old_enough_archives_nothing(
    session: Session, work: Work, key_file: LocalKeyFile, chain_of_five: list[AuditEvent]
) -> None:
    statement, content = archive(work, key_file, before=chain_of_five[0].at)
    assert statement is None
    assert content == b""
    assert remaining_seqs(session) == [1, 2, 3, 4, 5]


def test_after_archiving_everything_the_chain_goes_on_from_the_archive(
    session: Session,
    clock: FrozenClock,
    key_file: LocalKeyFile,
    chain_of_five: list[AuditEvent],
    record_events: RecordEvents,
    work: Work,
) -> None:
    clock.advance(timedelta(seconds=1))
    statement, _ = archive(work, key_file, before=clock.now())
    assert statement is not None
    assert remaining_seqs(session) == []
    assert chain_head(session) == (5, chain_of_five[4].hash)
    later = record_events(2)
    seal_pending_events(work)
    assert [event.seq for event in later] == [6, 7]
    assert later[0].prev_hash == statement.hash
    report = verify_chain(session=session, public_keys=public_keys(session))
    assert report.ok  # including the checkpoint at seq 5, checked against the archive's hash
    assert (report.events_checked, report.last_seq, report.archived_through) == (2, 7, 5)


def test_a_broken_chain_is_not_archived(
    session: Session, work: Work, key_file: LocalKeyFile, chain_of_five: list[AuditEvent]
) -> None:
    drop_guards(session)
    set_columns(session, 2, action="authz_fail")
    with pytest.raises(ChainNotVerified) as raised:
        archive(work, key_file, before=chain_of_five[3].at)
    assert raised.value.report.first_bad_seq == 2
    assert session.scalar(select(func.count()).select_from(AuditArchive)) == 0


def test_an_event_after_the_archived_prefix_still_cannot_be_deleted(
    session: Session,
    work: Work,
    key_file: LocalKeyFile,
    chain_of_five: list[AuditEvent],
    record_events: RecordEvents,
) -> None:
    archive(work, key_file, before=chain_of_five[3].at)
    record_events(1)  # unsealed
    for condition in (AuditEvent.seq == 4, AuditEvent.seq == 5, AuditEvent.seq.is_(None)):
        with pytest.raises(IntegrityError, match="append-only"), session.begin_nested():
            session.execute(delete(AuditEvent).where(condition).execution_options(synchronize_session=False))
    assert sorted(remaining_seqs(session), key=lambda seq: seq or 0) == [None, 4, 5]


def test_without_an_archive_record_no_event_can_be_deleted(
    session: Session, chain_of_five: list[AuditEvent]
) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        session.execute(
            delete(AuditEvent).where(AuditEvent.seq == 1).execution_options(synchronize_session=False)
        )


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_an_archive_record_cannot_change_or_be_deleted(
    session: Session,
    work: Work,
    key_file: LocalKeyFile,
    chain_of_five: list[AuditEvent],
    statement: str,
) -> None:
    archive(work, key_file, before=chain_of_five[3].at)
    table = cast(Table, AuditArchive.__table__)
    query = table.update().values(through_seq=5) if statement == "update" else table.delete()
    with pytest.raises(IntegrityError, match="append-only"):
        session.execute(query)


def test_a_forged_archive_record_fails_verification(
    session: Session, clock: FrozenClock, work: Work, key_file: LocalKeyFile, chain_of_five: list[AuditEvent]
) -> None:
    statement, _ = archive(work, key_file, before=chain_of_five[1].at)
    assert statement is not None
    forged = AuditArchive(
        number=2,
        first_seq=2,
        through_seq=3,
        hash=chain_of_five[2].hash,
        before=clock.now(),
        digest="0" * 64,
        at=clock.now(),
        key_id=statement.key_id,
        signature=statement.signature,  # another statement's signature
    )
    session.add(forged)
    session.flush()
    report = verify_chain(session=session, public_keys=public_keys(session))
    assert (report.ok, report.problem, report.first_bad_seq) == (False, Problem.BAD_SIGNATURE, 2)


def _altered_action(lines: list[bytes]) -> list[bytes]:
    value = json.loads(lines[1])
    value["action"] = "authz_fail"
    return [lines[0], json.dumps(value, sort_keys=True, separators=(",", ":")).encode(), *lines[2:]]


def _rehashed(lines: list[bytes]) -> list[bytes]:
    """Change the last event and recompute its hash, as a forger who knows the encoding would."""
    value = json.loads(lines[-2])
    value["outcome"] = "failure"
    event = event_from_json(value)
    assert event.seq is not None
    assert event.prev_hash is not None
    assert event.sealed_at is not None
    forged = replace(
        event, hash=event.hash_at(seq=event.seq, prev_hash=event.prev_hash, sealed_at=event.sealed_at)
    )
    return [*lines[:-2], event_line(forged).rstrip(b"\n"), lines[-1]]


def _statement_changed(lines: list[bytes]) -> list[bytes]:
    value = json.loads(lines[-1])
    value["archive"]["through_seq"] = 2
    return [*lines[:-1], json.dumps(value).encode()]


@pytest.mark.parametrize(
    ("tamper", "problem", "line"),
    [
        (_altered_action, ArchiveProblem.ALTERED, 2),
        (lambda lines: [lines[0], *lines[2:]], ArchiveProblem.MISSING, 2),
        (lambda lines: [lines[1], lines[0], *lines[2:]], ArchiveProblem.MISSING, 2),
        (_rehashed, ArchiveProblem.DIGEST_MISMATCH, 4),
        (_statement_changed, ArchiveProblem.BAD_SIGNATURE, 4),
        (lambda lines: lines[:-1], ArchiveProblem.MALFORMED, 4),
        (lambda lines: [*lines, lines[0]], ArchiveProblem.MALFORMED, 5),
        (lambda lines: [b"not json", *lines[1:]], ArchiveProblem.MALFORMED, 1),
    ],
    ids=[
        "altered",
        "removed",
        "swapped",
        "rehashed",
        "statement-changed",
        "no-statement",
        "appended",
        "garbled",
    ],
)
def test_a_tampered_archive_file_is_detected_and_located(
    session: Session,
    work: Work,
    key_file: LocalKeyFile,
    chain_of_five: list[AuditEvent],
    tamper: object,
    problem: ArchiveProblem,
    line: int,
) -> None:
    _, content = archive(work, key_file, before=chain_of_five[3].at)
    assert callable(tamper)
    tampered = b"".join(each + b"\n" for each in tamper(content.splitlines()))
    with pytest.raises(ArchiveInvalid) as raised:
        check_file(session, tampered)
    assert (raised.value.problem, raised.value.line) == (problem, line)


def test_an_archive_signed_by_an_unknown_key_or_missing_from_the_database_is_refused(
    session: Session, work: Work, key_file: LocalKeyFile, chain_of_five: list[AuditEvent]
) -> None:
    statement, content = archive(work, key_file, before=chain_of_five[3].at)
    assert statement is not None
    with pytest.raises(ArchiveInvalid) as raised:
        verify_archive(lines=io.BytesIO(content), public_keys={})
    assert raised.value.problem is ArchiveProblem.BAD_SIGNATURE
    with pytest.raises(ArchiveInvalid) as raised:
        check_recorded(session=session, statement=replace(statement, number=9))
    assert raised.value.problem is ArchiveProblem.NOT_RECORDED
