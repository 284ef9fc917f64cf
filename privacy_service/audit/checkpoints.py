"""Signed checkpoints of the chain's head, and the Ed25519 keys that sign them.

Every ``every_events`` sealed events or ``every_seconds`` (whichever comes
first, and also when nothing happened, so a missing checkpoint is itself
evidence) the worker signs ``(number, seq, hash, at, key_id)``. Checkpoints
are numbered without gaps. The private key is stored only wrapped by the key
provider, bound to its id, so a blob moved to another row does not unwrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_service.audit.canonical import checkpoint_message
from privacy_service.audit.errors import NoSigningKey
from privacy_service.audit.models import AuditCheckpoint, AuditSigningKey
from privacy_service.audit.sealer import chain_head
from privacy_service.audit.witness import CheckpointStatement, Witness
from privacy_service.core.ids import new_id
from privacy_service.crypto import KeyProvider, WrappedKey
from privacy_service.crypto.signing import generate_signing_key, public_key_of, sign
from privacy_service.work import Work

_WRAP_CONTEXT: Final = b"privacy-service/audit-signing-key/v1\x00"


@dataclass(frozen=True, slots=True)
class CheckpointCadence:
    """How often checkpoints are due: after ``every_events`` sealed events or ``every_seconds``."""

    every_events: int = 1000
    every_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.every_events < 1 or self.every_seconds <= 0:
            raise ValueError("a checkpoint cadence needs at least one event and a positive interval")


def _wrap_context(key_id: str) -> bytes:
    return _WRAP_CONTEXT + key_id.encode()


def active_signing_key(session: Session) -> AuditSigningKey | None:
    """The newest key not retired: the one that signs now."""
    return session.scalar(
        select(AuditSigningKey)
        .where(AuditSigningKey.retired_at.is_(None))
        .order_by(AuditSigningKey.created_at.desc(), AuditSigningKey.id.desc())
        .limit(1)
    )


def _create_signing_key(work: Work, *, provider: KeyProvider) -> AuditSigningKey:
    key_id = new_id()
    private_key = generate_signing_key()
    wrapped = provider.wrap(private_key, associated_data=_wrap_context(key_id))
    row = AuditSigningKey(
        id=key_id,
        public_key=public_key_of(private_key),
        private_key=wrapped.blob,
        kek_version=wrapped.kek_version,
        created_at=work.clock.now(),
    )
    work.session.add(row)
    work.session.flush()
    return row


def ensure_signing_key(work: Work, *, provider: KeyProvider) -> AuditSigningKey:
    """The active signing key, created on first use."""
    return active_signing_key(work.session) or _create_signing_key(work, provider=provider)


def rotate_signing_key(work: Work, *, provider: KeyProvider) -> AuditSigningKey:
    """Retire the active key and start signing with a new one; old checkpoints keep verifying."""
    current = active_signing_key(work.session)
    if current is not None:
        current.retired_at = work.clock.now()
    return _create_signing_key(work, provider=provider)


def unwrap_signing_key(*, key: AuditSigningKey, provider: KeyProvider) -> bytes:
    """The private half of ``key``, unwrapped by the key provider for one signature; never stored."""
    return provider.unwrap(
        WrappedKey(kek_version=key.kek_version, blob=key.private_key), associated_data=_wrap_context(key.id)
    )


def public_keys(session: Session) -> dict[str, bytes]:
    """Every signing key's public half by id, retired ones included.

    Read from the database, these prove only what the database says; a
    verifier that distrusts the database passes keys pinned elsewhere.
    """
    rows = session.execute(select(AuditSigningKey.id, AuditSigningKey.public_key)).all()
    return dict(rows)


def last_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.number.desc()).limit(1))


def write_checkpoint(
    work: Work,
    *,
    provider: KeyProvider,
    cadence: CheckpointCadence,
    witness: Witness | None = None,
    force: bool = False,
) -> AuditCheckpoint | None:
    """Sign the chain's current head if a checkpoint is due (or ``force``); return it, or None if not due.

    Run it in a transaction after the sealer's has committed, so it signs what is durable.
    """
    now = work.clock.now()
    seq, head_hash = chain_head(work.session)
    previous = last_checkpoint(work.session)
    due = (
        force
        or previous is None
        or seq - previous.seq >= cadence.every_events
        or now - previous.at >= timedelta(seconds=cadence.every_seconds)
    )
    if not due:
        return None
    key = active_signing_key(work.session)
    if key is None:
        raise NoSigningKey()
    private_key = unwrap_signing_key(key=key, provider=provider)
    number = 1 if previous is None else previous.number + 1
    message = checkpoint_message(number=number, seq=seq, hash=head_hash, at=now, key_id=key.id)
    checkpoint = AuditCheckpoint(
        number=number,
        seq=seq,
        hash=head_hash,
        at=now,
        key_id=key.id,
        signature=sign(private_key=private_key, message=message),
    )
    work.session.add(checkpoint)
    work.session.flush()
    if witness is not None:
        witness.publish(CheckpointStatement.of(checkpoint))
    return checkpoint
