"""The sealer: gap-free seq, linked hashes, batches, crash recovery, one sealer at a time, append-only."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import cast

import pytest
from sqlalchemy import Engine, Table, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit import SYSTEM, Action, Outcome, record, seal_pending_events
from privacy_service.audit.canonical import GENESIS_HASH, ChainedEvent
from privacy_service.audit.errors import SealingConflict
from privacy_service.audit.jobs import seal_events_job
from privacy_service.audit.models import AuditCheckpoint, AuditEvent
from privacy_service.audit.sealer import _write_seals, chain_head, try_lock_sealer
from privacy_service.core.clock import FrozenClock
from privacy_service.keys.service import Keyring
from privacy_service.work import Work, Workplace
from tests.conftest import requires_postgres
from tests.unit.audit.conftest import CLIENT, RecordEvents
from tests.unit.audit.tampering import TestSigner

EVENTS = cast(Table, AuditEvent.__table__)


def test_an_empty_chain_has_the_genesis_head_and_nothing_to_seal(session: Session, work: Work) -> None:
    assert chain_head(session) == (0, GENESIS_HASH)
    assert seal_pending_events(work) == 0


def test_sealing_numbers_and_links_events_in_recording_order(
    session: Session, clock: FrozenClock, record_events: RecordEvents, work: Work
) -> None:
    events = record_events(3)
    clock.advance(timedelta(seconds=1))
    assert seal_pending_events(work) == 3
    assert [event.seq for event in events] == [1, 2, 3]
    assert [event.prev_hash for event in events] == [GENESIS_HASH, events[0].hash, events[1].hash]
    for event in events:
        assert event.sealed_at == clock.now()
        assert ChainedEvent.of(event).hash_matches()
    assert chain_head(session) == (3, events[2].hash)


def test_the_hash_covers_the_canonical_encoding_documented_in_canonical_py(
    session: Session, work: Work
) -> None:
    event_id = record(
        work,
        actor=SYSTEM,
        action=Action.KEY_ROTATE,
        target=CLIENT,
        outcome=Outcome.SUCCESS,
    )
    work.commit()
    event = session.get_one(AuditEvent, event_id)
    seal_pending_events(work)
    expected = (
        '{"action":"key_rotate","actor_id":"privacy-service","actor_type":"system",'
        '"at":"2026-01-15T12:00:00.000000Z","details":null,"id":"' + event.id + '","outcome":"success",'
        '"prev_hash":"' + GENESIS_HASH + '","request_id":null,"sealed_at":"2026-01-15T12:00:00.000000Z",'
        '"seq":1,"subject_id":null,"target_id":"client-1","target_type":"client","v":1}'
    )
    assert event.hash == hashlib.sha256(expected.encode()).hexdigest()


def test_a_later_batch_continues_the_chain_and_respects_the_batch_size(
    record_events: RecordEvents, work: Work
) -> None:
    first = record_events(2)
    seal_pending_events(work)
    later = record_events(3)
    assert seal_pending_events(work, batch_size=2) == 2
    assert [event.seq for event in later] == [3, 4, None]
    assert later[0].prev_hash == first[1].hash
    assert seal_pending_events(work, batch_size=2) == 1
    assert later[2].seq == 5


def test_a_batch_with_an_event_sealed_meanwhile_is_refused_whole(
    session: Session, clock: FrozenClock, record_events: RecordEvents, work: Work
) -> None:
    sealed_meanwhile, still_pending = record_events(2)
    seal_pending_events(work, batch_size=1)
    batch: list[dict[str, object]] = [
        {
            "event_id": event.id,
            "seq": seq,
            "prev_hash": "a" * 64,
            "hash": str(seq) * 64,
            "sealed_at": clock.now(),
        }
        for seq, event in ((7, sealed_meanwhile), (8, still_pending))
    ]
    with pytest.raises(SealingConflict), session.begin_nested():
        _write_seals(session.connection(), batch, sealed_at=clock.now())
    session.expire_all()
    assert sealed_meanwhile.seq == 1
    assert still_pending.seq is None  # not sealed in part


def test_an_event_committed_before_a_crash_is_sealed_by_the_next_sealer_run(
    sessions: sessionmaker[Session], clock: FrozenClock, keyring: Keyring
) -> None:
    workplace = Workplace(sessions=sessions, clock=clock, keyring=keyring)
    with workplace.open() as work:
        record(
            work,
            actor=SYSTEM,
            action=Action.KEY_ROTATE,
            target=CLIENT,
            outcome=Outcome.SUCCESS,
        )
    # The process dies here: committed, never sealed. A new process's sealer picks it up.
    with workplace.open() as work:
        assert seal_pending_events(work) == 1
    with sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))) == 0
        )
        assert session.scalar(select(AuditEvent.seq)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"action": "authz_fail"},
        {"details": b"{}"},
        {"seq": 99},
        {"hash": "f" * 64},
        {"sealed_at": None},
        {"recorded_by": "client-9"},
    ],
)
def test_the_database_refuses_to_change_a_sealed_event(
    session: Session, sealed_chain: list[AuditEvent], change: dict[str, object]
) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        session.execute(update(EVENTS).where(EVENTS.c.seq == 2).values(**change))


def test_the_database_refuses_to_change_what_an_unsealed_event_recorded(
    session: Session, record_events: RecordEvents
) -> None:
    record_events(1)
    with pytest.raises(IntegrityError, match="append-only"), session.begin_nested():
        session.execute(update(EVENTS).values(outcome="failure"))
    with pytest.raises(IntegrityError, match="append-only"), session.begin_nested():
        session.execute(update(EVENTS).values(recorded_by="client-9"))


@pytest.mark.parametrize("sealed", [True, False])
def test_the_database_refuses_to_delete_an_event(
    session: Session, record_events: RecordEvents, sealed: bool, work: Work
) -> None:
    record_events(1)
    if sealed:
        seal_pending_events(work)
    with pytest.raises(IntegrityError, match="append-only"):
        session.execute(delete(EVENTS))


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_database_refuses_to_change_or_delete_a_checkpoint(
    session: Session, clock: FrozenClock, signer: TestSigner, statement: str
) -> None:
    signer.checkpoint(number=1, seq=0, hash=GENESIS_HASH, at=clock.now())
    table = cast(Table, AuditCheckpoint.__table__)
    query = update(table).values(seq=5) if statement == "update" else delete(table)
    with pytest.raises(IntegrityError, match="append-only"):
        session.execute(query)


def test_on_sqlite_the_sealer_needs_no_lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        pytest.skip("SQLite only")
    assert try_lock_sealer(session)


@requires_postgres
def test_two_sealers_never_both_seal(engine: Engine, clock: FrozenClock, keyring: Keyring) -> None:
    with engine.connect() as first_connection, engine.connect() as second_connection:
        first_connection.begin()
        second_connection.begin()
        first = Work(session=Session(bind=first_connection), clock=clock, keyring=keyring)
        # Its commits release a savepoint: the event is written, the transaction goes on.
        second = Work(
            session=Session(bind=second_connection, join_transaction_mode="create_savepoint"),
            clock=clock,
            keyring=keyring,
        )
        try:
            assert seal_pending_events(first) == 0  # nothing to seal, but holds the lock
            record(
                second,
                actor=SYSTEM,
                action=Action.KEY_ROTATE,
                target=CLIENT,
                outcome=Outcome.SUCCESS,
            )
            second.commit()
            assert not try_lock_sealer(second.session)
            assert seal_pending_events(second) == 0  # a pending event, but no lock
            first_connection.rollback()  # the first sealer's transaction ends and releases the lock
            assert seal_pending_events(second) == 1
        finally:
            first.session.close()
            second.session.close()
            second_connection.rollback()


def test_a_sealer_that_does_not_get_the_lock_seals_nothing(
    session: Session,
    record_events: RecordEvents,
    monkeypatch: pytest.MonkeyPatch,
    work: Work,
) -> None:
    record_events(2)
    monkeypatch.setattr("privacy_service.audit.sealer.try_lock_sealer", lambda session: False)
    assert seal_pending_events(work) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))) == 2


def test_the_sealing_job_drains_a_burst_in_full_batches_up_to_its_limit(
    session: Session, work: Work, record_events: RecordEvents
) -> None:
    record_events(7)
    seal_events_job(batch_size=2, max_batches=3)(work)
    assert session.scalar(select(func.max(AuditEvent.seq))) == 6
    seal_events_job(batch_size=2, max_batches=3)(work)
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))) == 0
