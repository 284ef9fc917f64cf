"""Ways around the audit trail's guards, as an attacker with write access to the database would go.

Everything happens inside the test's transaction, which is rolled back.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, text, update
from sqlalchemy.orm import Session

from privacy_service.audit.canonical import ChainedEvent, checkpoint_message
from privacy_service.audit.models import AuditCheckpoint, AuditEvent, AuditSigningKey
from privacy_service.core.clock import FrozenClock
from privacy_service.crypto.signing import generate_signing_key, public_key_of, sign


def drop_guards(session: Session) -> None:
    """Disable the append-only triggers inside the test's transaction (rolled back with it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        session.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only"))
    else:
        for trigger in (
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_checkpoints_no_update",
            "audit_checkpoints_no_delete",
        ):
            session.execute(text(f"DROP TRIGGER {trigger}"))


def stored(session: Session, seq: int) -> ChainedEvent:
    row = (
        session.execute(
            select(*[AuditEvent.__table__.c[name] for name in ChainedEvent.__slots__]).where(
                AuditEvent.seq == seq
            )
        )
        .mappings()
        .one()
    )
    return ChainedEvent.from_row(row)


def set_columns(session: Session, seq: int, **values: object) -> None:
    events = cast(Table, AuditEvent.__table__)
    session.execute(update(events).where(events.c.seq == seq).values(**values))


def rehash(session: Session, seq: int, *, prev_hash: str) -> str:
    """Recompute a stored event's hash after ``prev_hash``, as a forger who knows the encoding would."""
    event = stored(session, seq)
    assert event.sealed_at is not None
    new_hash = event.hash_at(seq=seq, prev_hash=prev_hash, sealed_at=event.sealed_at)
    set_columns(session, seq, prev_hash=prev_hash, hash=new_hash)
    return new_hash


def random_hash() -> str:
    return secrets.token_hex(32)


class TestSigner:
    """A checkpoint signing key held by the test, so it can sign whatever statement a case needs."""

    __test__ = False

    def __init__(self, session: Session, clock: FrozenClock) -> None:
        self.private_key = generate_signing_key()
        self.key = AuditSigningKey(
            id="test-signer",
            public_key=public_key_of(self.private_key),
            private_key=b"not used",
            kek_version=1,
            created_at=clock.now(),
        )
        session.add(self.key)
        session.flush()
        self.session = session

    @property
    def public_keys(self) -> dict[str, bytes]:
        return {self.key.id: self.key.public_key}

    def checkpoint(self, *, number: int, seq: int, hash: str, at: datetime) -> AuditCheckpoint:
        message = checkpoint_message(number=number, seq=seq, hash=hash, at=at, key_id=self.key.id)
        checkpoint = AuditCheckpoint(
            number=number,
            seq=seq,
            hash=hash,
            at=at,
            key_id=self.key.id,
            signature=sign(private_key=self.private_key, message=message),
        )
        self.session.add(checkpoint)
        self.session.flush()
        return checkpoint
