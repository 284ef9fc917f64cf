"""Signed checkpoints: when they are due, what they sign, the keys that sign them, witnesses, worker jobs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_service.audit import (
    CheckpointCadence,
    CheckpointStatement,
    FileWitness,
    MemoryWitness,
    ensure_signing_key,
    public_keys,
    rotate_signing_key,
    seal_pending_events,
    verify_chain,
    write_checkpoint,
)
from privacy_service.audit.canonical import GENESIS_HASH, checkpoint_message
from privacy_service.audit.checkpoints import active_signing_key
from privacy_service.audit.errors import NoSigningKey
from privacy_service.audit.jobs import seal_events_job, write_checkpoint_job
from privacy_service.audit.models import AuditCheckpoint, AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.crypto import LocalKeyFile
from privacy_service.crypto.signing import verify_signature
from privacy_service.work import Work
from tests.unit.audit.conftest import RecordEvents

CADENCE = CheckpointCadence(every_events=3, every_seconds=60)


def checkpoint_now(work: Work, key_file: LocalKeyFile, **options: object) -> AuditCheckpoint | None:
    return write_checkpoint(work, provider=key_file, cadence=CADENCE, **options)  # type: ignore[arg-type]


def test_a_cadence_needs_events_and_time() -> None:
    with pytest.raises(ValueError, match="cadence"):
        CheckpointCadence(every_events=0)
    with pytest.raises(ValueError, match="cadence"):
        CheckpointCadence(every_seconds=0)


def test_checkpoints_need_a_signing_key(work: Work, key_file: LocalKeyFile) -> None:
    with pytest.raises(NoSigningKey):
        checkpoint_now(work, key_file)


def test_the_signing_key_is_created_once_and_stored_only_wrapped(
    session: Session, key_file: LocalKeyFile, work: Work
) -> None:
    key = ensure_signing_key(work, provider=key_file)
    assert ensure_signing_key(work, provider=key_file) is key
    assert len(key.public_key) == 32
    assert len(key.private_key) > 32  # nonce, ciphertext and tag: never the raw seed
    assert public_keys(session) == {key.id: key.public_key}


def test_the_first_checkpoint_of_an_empty_chain_signs_the_genesis_hash(
    clock: FrozenClock, key_file: LocalKeyFile, work: Work
) -> None:
    key = ensure_signing_key(work, provider=key_file)
    checkpoint = checkpoint_now(work, key_file)
    assert checkpoint is not None
    assert (checkpoint.number, checkpoint.seq, checkpoint.hash, checkpoint.key_id) == (
        1,
        0,
        GENESIS_HASH,
        key.id,
    )
    message = checkpoint_message(number=1, seq=0, hash=GENESIS_HASH, at=clock.now(), key_id=key.id)
    verify_signature(public_key=key.public_key, message=message, signature=checkpoint.signature)


def test_a_checkpoint_is_due_after_enough_events_or_enough_time_even_when_nothing_happened(
    clock: FrozenClock, key_file: LocalKeyFile, record_events: RecordEvents, work: Work
) -> None:
    ensure_signing_key(work, provider=key_file)
    assert checkpoint_now(work, key_file) is not None
    record_events(2)
    seal_pending_events(work)
    assert checkpoint_now(work, key_file) is None  # 2 events, a few milliseconds: not due
    record_events(1)
    seal_pending_events(work)
    by_events = checkpoint_now(work, key_file)
    assert by_events is not None
    assert (by_events.number, by_events.seq) == (2, 3)
    clock.advance(timedelta(seconds=59))
    assert checkpoint_now(work, key_file) is None
    clock.advance(timedelta(seconds=1))
    by_time = checkpoint_now(work, key_file)
    assert by_time is not None
    assert (by_time.number, by_time.seq, by_time.hash) == (3, 3, by_events.hash)
    forced = checkpoint_now(work, key_file, force=True)
    assert forced is not None
    assert forced.number == 4


def test_a_rotated_key_signs_new_checkpoints_and_old_ones_still_verify(
    session: Session, clock: FrozenClock, key_file: LocalKeyFile, record_events: RecordEvents, work: Work
) -> None:
    old = ensure_signing_key(work, provider=key_file)
    record_events(2)
    seal_pending_events(work)
    checkpoint_now(work, key_file)
    clock.advance(timedelta(seconds=1))
    new = rotate_signing_key(work, provider=key_file)
    assert old.retired_at == clock.now()
    assert active_signing_key(session) is new
    later = checkpoint_now(work, key_file, force=True)
    assert later is not None
    assert later.key_id == new.id
    report = verify_chain(session=session, public_keys=public_keys(session))
    assert report.ok
    assert report.last_checkpoint is not None
    assert report.last_checkpoint.key_id == new.id


def test_rotating_without_any_key_creates_the_first(
    session: Session, key_file: LocalKeyFile, work: Work
) -> None:
    key = rotate_signing_key(work, provider=key_file)
    assert active_signing_key(session) is key


def test_each_checkpoint_is_copied_to_the_witness(key_file: LocalKeyFile, tmp_path: Path, work: Work) -> None:
    ensure_signing_key(work, provider=key_file)
    file_witness = FileWitness(tmp_path / "witness" / "checkpoints.jsonl")
    assert list(file_witness.statements()) == []
    memory_witness = MemoryWitness()
    first = checkpoint_now(work, key_file, witness=file_witness)
    second = checkpoint_now(work, key_file, witness=memory_witness, force=True)
    third = checkpoint_now(work, key_file, witness=file_witness, force=True)
    assert first is not None
    assert second is not None
    assert third is not None
    assert memory_witness.statements == [CheckpointStatement.of(second)]
    assert list(file_witness.statements()) == [CheckpointStatement.of(first), CheckpointStatement.of(third)]
    (tmp_path / "witness" / "checkpoints.jsonl").write_text(
        (tmp_path / "witness" / "checkpoints.jsonl").read_text() + "\n"
    )
    assert len(list(file_witness.statements())) == 2  # blank lines are ignored


def test_the_worker_jobs_seal_and_checkpoint(
    session: Session, work: Work, key_file: LocalKeyFile, record_events: RecordEvents
) -> None:
    record_events(4)
    seal_events_job(batch_size=3, max_batches=1)(work)
    assert session.scalar(select(func.max(AuditEvent.seq))) == 3
    witness = MemoryWitness()
    write_checkpoint_job(provider=key_file, cadence=CADENCE, witness=witness)(work)
    assert [statement.seq for statement in witness.statements] == [3]
    seal_events_job()(work)
    write_checkpoint_job(provider=key_file, cadence=CADENCE)(work)
    assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1  # one event since: not due
    assert verify_chain(session=session, public_keys=public_keys(session)).ok
