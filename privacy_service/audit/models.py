"""The audit trail's tables: events (appended unsealed, then sealed into the hash chain), signed
checkpoints of the chain's head, the Ed25519 keys that sign them, and signed records of archived
prefixes.

``seq``, ``prev_hash``, ``hash`` and ``sealed_at`` stay NULL until the sealer
fills them in once; triggers (migrations 0005 and 0006) refuse any other update
and every delete except of an archived prefix. The unique constraints on
``seq`` and ``prev_hash`` make a fork of the chain impossible to store: two
events can never name the same predecessor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_service.audit.actions import ACTION_LENGTH, PARTY_ID_LENGTH, PARTY_TYPE_LENGTH
from privacy_service.core.db import Base
from privacy_service.core.ids import new_id
from privacy_service.core.types import UTCDateTime

HASH_LENGTH = 64  # SHA-256, lowercase hex
CLIENT_ID_LENGTH = 26  # identity.models.ID: the ids new_id() gives clients


class AuditEvent(Base):
    """One recorded operation. ``details`` is JSON encrypted under ``subject_id``'s data key, or plain JSON
    without personal data when the event names no subject."""

    __tablename__ = "audit_events"
    # The read side's filters, each a range read in the trail's order (audit/queries.py pages by seq).
    __table_args__ = (
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_actor_id_seq", "actor_id", "seq"),
        Index("ix_audit_events_target_id_seq", "target_id", "seq"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_type: Mapped[str] = mapped_column(String(PARTY_TYPE_LENGTH))
    actor_id: Mapped[str] = mapped_column(String(PARTY_ID_LENGTH))
    action: Mapped[str] = mapped_column(String(ACTION_LENGTH))
    target_type: Mapped[str] = mapped_column(String(PARTY_TYPE_LENGTH))
    target_id: Mapped[str] = mapped_column(String(PARTY_ID_LENGTH))
    outcome: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(26))
    details: Mapped[bytes | None] = mapped_column(LargeBinary)
    prev_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), unique=True)
    hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), unique=True)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The client that recorded a shop's own event (POST /v1/audit/events); null for the service's events.
    recorded_by: Mapped[str | None] = mapped_column(String(CLIENT_ID_LENGTH))


class AuditSigningKey(Base):
    """An Ed25519 key pair that signs checkpoints; the private half only wrapped by the key provider."""

    __tablename__ = "audit_signing_keys"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditCheckpoint(Base):
    """A signed statement "at ``at`` the chain ended at ``seq`` with ``hash``"; ``number`` is gap-free.

    ``seq`` 0 and the genesis hash stand for an empty chain: checkpoints are
    written even when nothing happened, so a missing one is itself evidence.
    """

    __tablename__ = "audit_checkpoints"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(26), ForeignKey("audit_signing_keys.id"))
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class AuditArchive(Base):
    """A signed statement "events ``first_seq``..``through_seq`` were exported to an archive whose event
    lines hash to ``digest``; the chain now starts after ``through_seq``, whose hash was ``hash``".

    The remaining chain verifies from this anchor. Only events up to the newest
    archive's ``through_seq`` can be deleted (the trigger of migration 0006), and
    only by the owner role; ``number`` is gap-free and rows never change.
    """

    __tablename__ = "audit_archives"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    through_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    before: Mapped[datetime] = mapped_column(UTCDateTime())
    digest: Mapped[str] = mapped_column(String(HASH_LENGTH))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(26), ForeignKey("audit_signing_keys.id"))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
