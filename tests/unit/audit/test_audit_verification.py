"""Verification finds and locates every kind of tampering, checks checkpoints, and verifies ranges."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Table, delete, insert, update
from sqlalchemy.orm import Session

from privacy_service.audit import (
    CheckpointCadence,
    FileWitness,
    Problem,
    VerificationReport,
    ensure_signing_key,
    public_keys,
    seal_pending_events,
    verify_chain,
    write_checkpoint,
)
from privacy_service.audit.canonical import GENESIS_HASH
from privacy_service.audit.models import AuditCheckpoint, AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.crypto import LocalKeyFile
from privacy_service.work import Work
from tests.unit.audit.conftest import RecordEvents
from tests.unit.audit.tampering import TestSigner, drop_guards, random_hash, rehash, set_columns, stored

EVENTS = cast(Table, AuditEvent.__table__)
CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)


def verify(session: Session, signer: TestSigner | None = None, **options: object) -> VerificationReport:
    keys = {} if signer is None else signer.public_keys
    return verify_chain(session=session, public_keys=keys, batch_size=2, **options)  # type: ignore[arg-type]


def broken(report: VerificationReport) -> tuple[bool, int | None, Problem | None]:
    return report.ok, report.first_bad_seq, report.problem


def set_seq(session: Session, old: int, new: int) -> None:
    session.execute(update(EVENTS).where(EVENTS.c.seq == old).values(seq=new))


def test_an_empty_chain_verifies(session: Session) -> None:
    seen: list[int] = []
    report = verify(session, progress=seen.append)
    assert seen == []
    assert report == VerificationReport(ok=True, events_checked=0, last_seq=None, last_checkpoint=None)
    assert report.to_json() == {
        "ok": True,
        "events_checked": 0,
        "last_seq": None,
        "last_checkpoint": None,
        "first_bad_seq": None,
        "problem": None,
        "archived_through": None,
    }


def test_an_intact_chain_verifies_in_batches_with_progress(
    session: Session, sealed_chain: list[AuditEvent]
) -> None:
    seen: list[int] = []
    report = verify(session, progress=seen.append)
    assert broken(report) == (True, None, None)
    assert (report.events_checked, report.last_seq) == (5, 5)
    assert seen == [2, 4, 5]


def test_unsealed_events_are_not_yet_part_of_the_chain(
    session: Session, sealed_chain: list[AuditEvent], record_events: RecordEvents
) -> None:
    record_events(2)
    assert verify(session).events_checked == 5


def test_a_changed_action_is_found_at_its_seq(session: Session, sealed_chain: list[AuditEvent]) -> None:
    drop_guards(session)
    set_columns(session, 3, action="authz_fail")
    assert broken(verify(session)) == (False, 3, Problem.ALTERED)


def test_changed_details_are_found_at_their_seq(session: Session, sealed_chain: list[AuditEvent]) -> None:
    drop_guards(session)
    set_columns(session, 2, details=b'{"index":99}')
    report = verify(session)
    assert broken(report) == (False, 2, Problem.ALTERED)
    assert (report.events_checked, report.last_seq) == (1, 1)


def test_a_change_hidden_by_recomputing_its_hash_is_found_at_its_seq(
    session: Session, sealed_chain: list[AuditEvent]
) -> None:
    drop_guards(session)
    set_columns(session, 3, outcome="failure")
    rehash(session, 3, prev_hash=stored(session, 2).hash or "")
    assert broken(verify(session)) == (False, 3, Problem.ALTERED)


def test_a_changed_link_of_the_first_event_is_found(session: Session, sealed_chain: list[AuditEvent]) -> None:
    drop_guards(session)
    set_columns(session, 1, prev_hash=random_hash())
    assert broken(verify(session)) == (False, 1, Problem.ALTERED)


def test_a_removed_link_is_found(session: Session, sealed_chain: list[AuditEvent]) -> None:
    drop_guards(session)
    set_columns(session, 4, prev_hash=None)
    assert broken(verify(session)) == (False, 4, Problem.ALTERED)


def test_a_deleted_event_is_found_missing_at_its_seq(
    session: Session, sealed_chain: list[AuditEvent]
) -> None:
    drop_guards(session)
    session.execute(delete(EVENTS).where(EVENTS.c.seq == 3))
    report = verify(session)
    assert broken(report) == (False, 3, Problem.MISSING)
    assert report.last_seq == 2


def test_a_deleted_event_whose_successors_were_renumbered_is_found_missing(
    session: Session, sealed_chain: list[AuditEvent]
) -> None:
    drop_guards(session)
    session.execute(delete(EVENTS).where(EVENTS.c.seq == 3))
    set_seq(session, 4, 3)
    set_seq(session, 5, 4)
    assert broken(verify(session)) == (False, 3, Problem.MISSING)


def test_an_inserted_event_is_found_at_its_seq(session: Session, sealed_chain: list[AuditEvent]) -> None:
    drop_guards(session)
    for seq in (5, 4, 3):
        set_seq(session, seq, seq + 1)
    forged = stored(session, 2)
    session.execute(
        insert(EVENTS).values(
            id="forged-event",
            seq=3,
            at=forged.at,
            actor_type="system",
            actor_id="privacy-service",
            action="key_rotate",
            target_type="key",
            target_id="kek-9",
            outcome="success",
            prev_hash=random_hash(),
            hash=random_hash(),
            sealed_at=forged.sealed_at,
        )
    )
    assert broken(verify(session)) == (False, 3, Problem.INSERTED)


def test_two_swapped_events_are_found_reordered(session: Session, sealed_chain: list[AuditEvent]) -> None:
    drop_guards(session)
    set_seq(session, 2, -1)
    set_seq(session, 3, 2)
    set_seq(session, -1, 3)
    assert broken(verify(session)) == (False, 2, Problem.REORDERED)


def test_a_truncated_tail_after_a_checkpoint_is_found(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=5, hash=sealed_chain[4].hash or "", at=clock.now())
    drop_guards(session)
    session.execute(delete(EVENTS).where(EVENTS.c.seq >= 4))
    report = verify(session, signer)
    assert broken(report) == (False, 4, Problem.TRUNCATED)
    assert report.last_seq == 3


def test_a_forged_checkpoint_past_the_end_is_a_bad_signature_not_a_truncation(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=9, hash=random_hash(), at=clock.now())
    drop_guards(session)
    session.execute(update(CHECKPOINTS).values(signature=bytes(64)))
    assert broken(verify(session, signer)) == (False, 9, Problem.BAD_SIGNATURE)


def test_a_consistently_rewritten_chain_is_caught_by_its_checkpoint(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=5, hash=sealed_chain[4].hash or "", at=clock.now())
    drop_guards(session)
    set_columns(session, 3, action="sensitive_delete")
    previous = stored(session, 2).hash or ""
    for seq in (3, 4, 5):
        previous = rehash(session, seq, prev_hash=previous)
    assert broken(verify(session, signer)) == (False, 5, Problem.CHECKPOINT_MISMATCH)


def test_checkpoints_verify_and_the_last_one_is_reported(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=0, hash=GENESIS_HASH, at=clock.now())
    signer.checkpoint(number=2, seq=2, hash=sealed_chain[1].hash or "", at=clock.now())
    last = signer.checkpoint(number=3, seq=5, hash=sealed_chain[4].hash or "", at=clock.now())
    report = verify(session, signer)
    assert report.ok
    assert report.last_checkpoint is not None
    assert (report.last_checkpoint.number, report.last_checkpoint.seq) == (3, 5)
    assert report.to_json()["last_checkpoint"] == {
        "number": 3,
        "seq": 5,
        "hash": last.hash,
        "at": "2026-01-15T12:00:00.005000Z",
        "key_id": "test-signer",
    }


def test_a_forged_checkpoint_signature_fails(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=2, hash=sealed_chain[1].hash or "", at=clock.now())
    drop_guards(session)
    session.execute(update(CHECKPOINTS).values(at=clock.now() + timedelta(hours=1)))
    assert broken(verify(session, signer)) == (False, 2, Problem.BAD_SIGNATURE)


def test_a_checkpoint_by_an_unknown_key_fails(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=2, hash=sealed_chain[1].hash or "", at=clock.now())
    assert broken(verify(session)) == (False, 2, Problem.BAD_SIGNATURE)


def test_a_deleted_checkpoint_is_found_by_the_gap_in_numbers(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=1, hash=sealed_chain[0].hash or "", at=clock.now())
    signer.checkpoint(number=2, seq=3, hash=sealed_chain[2].hash or "", at=clock.now())
    signer.checkpoint(number=3, seq=5, hash=sealed_chain[4].hash or "", at=clock.now())
    drop_guards(session)
    session.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.number == 2))
    assert broken(verify(session, signer)) == (False, 2, Problem.CHECKPOINT_MISSING)


def test_checkpoints_further_apart_than_their_cadence_are_reported_missing(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    cadence = CheckpointCadence(every_events=100, every_seconds=60)
    start = clock.now()
    signer.checkpoint(number=1, seq=1, hash=sealed_chain[0].hash or "", at=start)
    signer.checkpoint(number=2, seq=3, hash=sealed_chain[2].hash or "", at=start + timedelta(seconds=110))
    signer.checkpoint(number=3, seq=5, hash=sealed_chain[4].hash or "", at=start + timedelta(seconds=300))
    assert verify(session, signer).ok  # without a cadence, spacing is not checked
    report = verify(session, signer, cadence=cadence)
    assert broken(report) == (False, 4, Problem.CHECKPOINT_MISSING)
    assert report.last_checkpoint is not None
    assert report.last_checkpoint.number == 2
    assert verify(session, signer, cadence=cadence, tolerance=timedelta(seconds=200)).ok


def test_a_stale_last_checkpoint_means_later_ones_are_missing(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    cadence = CheckpointCadence(every_events=100, every_seconds=60)
    signer.checkpoint(number=1, seq=3, hash=sealed_chain[2].hash or "", at=clock.now())
    assert verify(session, signer, cadence=cadence, now=clock.now() + timedelta(seconds=120)).ok
    stale = verify(session, signer, cadence=cadence, now=clock.now() + timedelta(seconds=121))
    assert broken(stale) == (False, 4, Problem.CHECKPOINT_MISSING)


def test_a_checkpoint_numbered_after_a_later_one_cannot_be_the_head(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=4, hash=sealed_chain[3].hash or "", at=clock.now())
    signer.checkpoint(number=2, seq=2, hash=sealed_chain[1].hash or "", at=clock.now())
    assert broken(verify(session, signer)) == (False, 2, Problem.CHECKPOINT_MISMATCH)


def test_a_range_is_verified_from_the_event_before_it(
    session: Session, clock: FrozenClock, sealed_chain: list[AuditEvent], signer: TestSigner
) -> None:
    signer.checkpoint(number=1, seq=2, hash=sealed_chain[1].hash or "", at=clock.now())
    signer.checkpoint(number=2, seq=4, hash=sealed_chain[3].hash or "", at=clock.now())
    signer.checkpoint(number=3, seq=5, hash=sealed_chain[4].hash or "", at=clock.now())
    report = verify(session, signer, from_seq=3, to_seq=4)
    assert broken(report) == (True, None, None)
    assert (report.events_checked, report.last_seq) == (2, 4)
    assert report.last_checkpoint is not None
    assert report.last_checkpoint.number == 2
    drop_guards(session)
    set_columns(session, 5, action="authz_fail")
    assert verify(session, signer, from_seq=3, to_seq=4).ok  # the change is outside the range
    assert broken(verify(session, signer, from_seq=4)) == (False, 5, Problem.ALTERED)


def test_a_range_whose_anchor_is_gone_is_reported_missing(
    session: Session, sealed_chain: list[AuditEvent]
) -> None:
    assert broken(verify(session, from_seq=9)) == (False, 8, Problem.MISSING)


@pytest.fixture
def witnessed_chain(
    key_file: LocalKeyFile,
    record_events: RecordEvents,
    tmp_path: Path,
    work: Work,
) -> FileWitness:
    """Checkpoints at seq 0, 3 and 5, written by the service and copied to a witness file."""
    witness = FileWitness(tmp_path / "witness.jsonl")
    ensure_signing_key(work, provider=key_file)
    cadence = CheckpointCadence(every_events=3, every_seconds=60)
    for count in (0, 3, 2):
        record_events(count)
        seal_pending_events(work)
        write_checkpoint(work, provider=key_file, cadence=cadence, witness=witness, force=True)
    return witness


def verify_witnessed(session: Session, witness: FileWitness, **options: object) -> VerificationReport:
    return verify_chain(
        session=session,
        public_keys=public_keys(session),
        witnessed=witness.statements(),
        **options,  # type: ignore[arg-type]
    )


def test_a_chain_that_matches_its_witness_verifies(session: Session, witnessed_chain: FileWitness) -> None:
    report = verify_witnessed(session, witnessed_chain)
    assert report.ok
    assert report.last_checkpoint is not None
    assert (report.last_checkpoint.number, report.last_checkpoint.seq) == (3, 5)


def test_a_tail_removed_with_its_checkpoints_is_caught_by_the_witness(
    session: Session, witnessed_chain: FileWitness
) -> None:
    drop_guards(session)
    session.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.number == 3))
    session.execute(delete(EVENTS).where(EVENTS.c.seq >= 4))
    assert verify_chain(session=session, public_keys=public_keys(session)).ok  # unnoticed without the witness
    report = verify_witnessed(session, witnessed_chain)
    assert broken(report) == (False, 4, Problem.TRUNCATED)


def test_a_chain_rewritten_with_its_checkpoints_removed_is_caught_by_the_witness(
    session: Session, witnessed_chain: FileWitness
) -> None:
    drop_guards(session)
    session.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.number == 3))
    set_columns(session, 4, action="sensitive_delete")
    previous = stored(session, 3).hash or ""
    for seq in (4, 5):
        previous = rehash(session, seq, prev_hash=previous)
    assert broken(verify_witnessed(session, witnessed_chain)) == (False, 5, Problem.CHECKPOINT_MISMATCH)


def test_a_witnessed_checkpoint_deleted_from_the_database_is_missing(
    session: Session, witnessed_chain: FileWitness
) -> None:
    drop_guards(session)
    session.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.number == 3))
    assert verify_chain(session=session, public_keys=public_keys(session)).ok  # unnoticed without the witness
    assert broken(verify_witnessed(session, witnessed_chain)) == (False, 5, Problem.CHECKPOINT_MISSING)


def test_a_forged_witness_statement_fails(session: Session, witnessed_chain: FileWitness) -> None:
    statements = list(witnessed_chain.statements())
    forged = dataclasses.replace(statements[1], hash=random_hash())
    report = verify_chain(session=session, public_keys=public_keys(session), witnessed=[forged])
    assert broken(report) == (False, 3, Problem.BAD_SIGNATURE)


def test_witnessed_checkpoints_outside_a_range_are_not_checked(
    session: Session, witnessed_chain: FileWitness
) -> None:
    drop_guards(session)
    session.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.number == 3))
    assert verify_witnessed(session, witnessed_chain, to_seq=4).ok
    assert verify_witnessed(session, witnessed_chain, from_seq=5, to_seq=5).ok is False
