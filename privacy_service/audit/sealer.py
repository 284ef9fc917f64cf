"""The sealer: chains committed, unsealed events into the hash chain, one sealer at a time.

Recording never touches the chain's head, so business transactions do not
serialise on it; this single sealer does, in batches. On PostgreSQL a
transaction-scoped advisory lock keeps a second sealer (another worker
process) out: it returns at once having sealed nothing. SQLite has one writer
at a time anyway. Events are taken in ``(at, id)`` order among those visible
as committed; their ``seq`` continues gap-free from the last sealed event and
each ``prev_hash`` is its predecessor's ``hash``. Should two sealers ever run
at once regardless, the unique constraints on ``seq`` and ``prev_hash`` make
the second one's commit fail instead of forking the chain.

The sealer reads the recorded columns and writes the chain's columns with
Core statements, not ORM entities: one SELECT and one UPDATE per batch. On
PostgreSQL that UPDATE takes the batch as arrays (``unnest``), one statement
for a thousand events instead of a thousand executions of one (an executemany
of a thousand takes 1.3x as long: ``benchmarks/README.md``, "caches.py");
SQLite, with no arrays and no round trips, runs an executemany. ``AuditEvent`` objects already
loaded in the same session have those columns expired, so they read the
sealed values on next access.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, cast

from sqlalchemy import Connection, Table, bindparam, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from privacy_service.audit.canonical import CHAINED_EVENT_COLUMNS, GENESIS_HASH, ChainedEvent
from privacy_service.audit.errors import SealingConflict
from privacy_service.audit.models import AuditArchive, AuditEvent
from privacy_service.core.types import UTCDateTime
from privacy_service.work import Work

#: The PostgreSQL advisory lock key of the sealer ("PRIVAUD1" as a 64-bit integer).
SEALER_LOCK_KEY: Final = 0x5052_4956_4155_4431
DEFAULT_BATCH_SIZE: Final = 1000


def try_lock_sealer(session: Session) -> bool:
    """Take the sealer's lock for the rest of this transaction; False if another transaction holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    acquired = session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEALER_LOCK_KEY})
    return bool(acquired)


def chain_head(session: Session) -> tuple[int, str]:
    """The last sealed event's ``(seq, hash)``, or ``(0, GENESIS_HASH)`` for an empty chain.

    When every sealed event has been archived, the head is the newest archive's
    last event, so the chain goes on from it instead of starting over.
    """
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        row = session.execute(
            select(AuditArchive.through_seq, AuditArchive.hash).order_by(AuditArchive.number.desc()).limit(1)
        ).first()
    if row is None:
        return 0, GENESIS_HASH
    seq, hash_ = row
    assert seq is not None
    assert hash_ is not None
    return seq, hash_


def seal_pending_events(work: Work, *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Seal up to ``batch_size`` pending events in the caller's transaction; return how many.

    Returns 0 without waiting when another sealer holds the lock. Nothing is
    committed here: the caller's unit of work commits the batch as a whole.
    """
    if not try_lock_sealer(work.session):
        return 0
    connection = work.session.connection()
    pending = (
        connection.execute(
            select(*CHAINED_EVENT_COLUMNS)
            .where(_EVENTS.c.seq.is_(None))
            .order_by(_EVENTS.c.at, _EVENTS.c.id)
            .limit(batch_size)
        )
        .mappings()
        .all()
    )
    if not pending:
        return 0
    seq, prev_hash = chain_head(work.session)
    sealed_at = work.clock.now()
    seals: list[dict[str, object]] = []  # executemany parameters of _SEAL
    for row in pending:
        seq += 1
        event_hash = ChainedEvent.from_row(row).hash_at(seq=seq, prev_hash=prev_hash, sealed_at=sealed_at)
        seals.append(
            {
                "event_id": row["id"],
                "seq": seq,
                "prev_hash": prev_hash,
                "hash": event_hash,
                "sealed_at": sealed_at,
            }
        )
        prev_hash = event_hash
    _write_seals(connection, seals, sealed_at=sealed_at)
    _expire_loaded(work.session, [seal["event_id"] for seal in seals])
    return len(seals)


def _write_seals(connection: Connection, seals: list[dict[str, object]], *, sealed_at: datetime) -> None:
    """Set the chain's columns of a batch; every event must still be unsealed, or nothing is sealed."""
    if connection.dialect.name == "postgresql":
        written = connection.execute(
            _SEAL_BATCH,
            {
                "event_ids": [seal["event_id"] for seal in seals],
                "seqs": [seal["seq"] for seal in seals],
                "prev_hashes": [seal["prev_hash"] for seal in seals],
                "hashes": [seal["hash"] for seal in seals],
                "sealed_at": sealed_at,
            },
        ).rowcount
    else:
        written = connection.execute(_SEAL, seals).rowcount
    if written != len(seals):
        raise SealingConflict()


def _expire_loaded(session: Session, event_ids: list[object]) -> None:
    """Expire the chain columns of the sealed events this session holds as entities (usually none)."""
    if not session.identity_map:
        return
    for event_id in event_ids:
        event = session.identity_map.get(identity_key(AuditEvent, event_id))
        if event is not None:
            session.expire(event, _SEALED_ATTRIBUTES)


_EVENTS = cast(Table, AuditEvent.__table__)
_SEALED_ATTRIBUTES = ["seq", "prev_hash", "hash", "sealed_at"]
# SQLite: executemany.
_SEAL = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("event_id"), _EVENTS.c.seq.is_(None))
    .values(
        seq=bindparam("seq"),
        prev_hash=bindparam("prev_hash"),
        hash=bindparam("hash"),
        sealed_at=bindparam("sealed_at"),
    )
)
# PostgreSQL: the batch in one statement.
_SEAL_BATCH = text(
    """
    UPDATE audit_events AS event
    SET seq = sealed.seq, prev_hash = sealed.prev_hash, hash = sealed.hash, sealed_at = :sealed_at
    FROM unnest(
        CAST(:event_ids AS varchar[]), CAST(:seqs AS bigint[]),
        CAST(:prev_hashes AS varchar[]), CAST(:hashes AS varchar[])
    ) AS sealed (event_id, seq, prev_hash, hash)
    WHERE event.id = sealed.event_id AND event.seq IS NULL
    """
).bindparams(bindparam("sealed_at", type_=UTCDateTime()))
