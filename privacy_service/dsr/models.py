"""Data subject requests, their tasks (the transactional outbox), downstream systems, exports, erasures.

What stays in plaintext is structure: ids, types, states, dates, system
names, error messages (written without personal data), and what systems keep
under a legal hold (categories, reasons, dates). Everything a system returns
about the person, the export bundle (sealed segment by segment) and an
officer's free-text reasoning are encrypted under the subject's data key, so
erasing the subject makes them unreadable too. A request keeps its subject's id after erasure, so the
request and its audit events stay traceable without naming anyone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from privacy_service.core.db import Base
from privacy_service.core.types import UTCDateTime
from privacy_service.keys.fields import encrypted_column

ID = 26
SYSTEM_NAME_LENGTH = 64
ERROR_LENGTH = 300


class DsrRequest(Base):
    """One request of a data subject: access (GDPR Art. 15 and 20) or erasure (Art. 17)."""

    __tablename__ = "dsr_requests"
    __table_args__ = (
        Index("ix_dsr_requests_status_due_at", "status", "due_at"),
        # The queue's order, most urgent first: each page a range of it (dsr.service.list_requests).
        Index("ix_dsr_requests_due_at_id", "due_at", "id"),
        # Ended requests by when they ended: what the worker purges once kept long enough.
        Index("ix_dsr_requests_status_completed_at", "status", "completed_at"),
    )

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))  # policy.RequestType
    status: Mapped[str] = mapped_column(String(32))  # dsr.states.RequestStatus
    subject_id: Mapped[str] = mapped_column(String(ID), index=True)  # no foreign key: outlives erasure
    jurisdiction: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extended_by: Mapped[str | None] = mapped_column(String(ID))
    extension_reason: Mapped[bytes | None] = encrypted_column()  # the officer's words, told to the subject
    filed_by_type: Mapped[str] = mapped_column(String(16))  # audit PartyType: user or client
    filed_by_id: Mapped[str] = mapped_column(String(ID))
    # The shop involved: the client that filed, or the one the customer signed in through. It may follow
    # the request to its end, and show the subject what was kept back after their account is gone.
    client_id: Mapped[str] = mapped_column(String(ID), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(ID))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(String(32))  # dsr.states.RejectionReason
    rejection_detail: Mapped[bytes | None] = encrypted_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DsrTask(Base):
    """One downstream system's part of a request: an outbox row written with the request, delivered later.

    ``webhook_id`` is fixed when the task is written, so every retry carries
    the same ``webhook-id`` and the system can de-duplicate. A worker leases a
    task by setting ``lease_until``; a worker that dies mid-delivery leaves a
    lease that runs out, and another worker delivers the task again.
    """

    __tablename__ = "dsr_tasks"
    __table_args__ = (
        UniqueConstraint("request_id", "system"),
        Index("ix_dsr_tasks_status_next_attempt_at", "status", "next_attempt_at"),
        # A system's latest tasks as a range read: ids sort by creation time.
        Index("ix_dsr_tasks_system_id", "system", "id"),
    )

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    request_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("dsr_requests.id", ondelete="CASCADE"), index=True
    )
    system: Mapped[str] = mapped_column(String(SYSTEM_NAME_LENGTH))
    status: Mapped[str] = mapped_column(String(16))  # dsr.states.TaskStatus
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[bytes | None] = encrypted_column()  # the system's `data`, encrypted with the subject's key
    retained: Mapped[str | None] = mapped_column(Text)  # JSON list of {category, reason, until}


class DsrNotice(Base):
    """What the subject is told about their request: acknowledged, extended, rejected or completed.

    The message (the subject's address and the text in their language) is
    rendered when the notice is written, while the subject still exists, and
    sealed under a data key of its own (``key_owner``): a completion notice
    outlives an erasure's shredding of the subject's key long enough to be
    delivered. Once every notice system has it, the message is dropped and its
    key shredded; the row stays as the record that the subject was told.
    """

    __tablename__ = "dsr_notices"
    __table_args__ = (UniqueConstraint("request_id", "kind"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    request_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("dsr_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # dsr.states.NoticeKind
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_owner: Mapped[str | None] = mapped_column(String(64), unique=True)  # None: no system to tell
    message: Mapped[bytes | None] = encrypted_column()  # NULL once delivered everywhere (or never sealed)


class DsrNoticeDelivery(Base):
    """One notice to one notice system (the shop's mailer): an outbox row like ``DsrTask``, with a lease."""

    __tablename__ = "dsr_notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "system"),
        Index("ix_dsr_notice_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    notice_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("dsr_notices.id", ondelete="CASCADE"), index=True
    )
    system: Mapped[str] = mapped_column(String(SYSTEM_NAME_LENGTH))
    status: Mapped[str] = mapped_column(String(16))  # dsr.states.NoticeDeliveryStatus
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CallbackReceipt(Base):
    """A callback already taken from a system, by its ``webhook-id``: presenting it again is a replay.

    Keyed by the system, not the task: a ``webhook-id`` is accepted once per
    system across all its tasks, so a callback captured on its way to one task
    cannot complete another (API.md "What downstream systems receive").
    """

    __tablename__ = "dsr_callback_receipts"

    system: Mapped[str] = mapped_column(String(SYSTEM_NAME_LENGTH), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("dsr_tasks.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DownstreamSystem(Base):
    """A system registered through the API; its Standard Webhooks secret is encrypted, never returned.

    The secret is encrypted under a data key of its own (``key_owner``), so key
    rotation re-wraps it with every subject's key and unregistering shreds it.
    """

    __tablename__ = "downstream_systems"

    name: Mapped[str] = mapped_column(String(SYSTEM_NAME_LENGTH), primary_key=True)
    key_owner: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[bytes] = encrypted_column(nullable=False)
    request_types: Mapped[str] = mapped_column(String(100))  # space-separated policy.SystemRequestType
    categories: Mapped[str] = mapped_column(Text)  # JSON list of data categories
    timeout_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DsrExport(Base):
    """The ZIP bundle answering an access request, sealed under the subject's key until it expires.

    The bundle is a stream (``crypto/stream.py``), so it is never held whole:
    ``bundle`` holds the stream's header (the data key it names, the salt of
    the stream key, the nonce prefix) and ``dsr_export_segments`` its sealed
    segments. ``size`` and ``sha256`` are the ZIP's own, for the download's
    ``Content-Length`` and ``Digest``. Once purged, ``bundle`` is NULL and the
    segments are gone; the row stays, so a late download says it expired.
    """

    __tablename__ = "dsr_exports"

    request_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("dsr_requests.id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[str] = mapped_column(String(ID))
    bundle: Mapped[bytes | None] = mapped_column(LargeBinary)  # the stream header; NULL once purged
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    segments: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DsrExportSegment(Base):
    """One sealed segment of an export bundle: AES-256-GCM under its stream's key, in its place ``seq``."""

    __tablename__ = "dsr_export_segments"

    request_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("dsr_exports.request_id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class ErasureRecord(Base):
    """That a subject was erased, kept as keyed digests of their identifiers only.

    ``email_digest`` is the email blind index itself, so ``erasures replay``
    finds a subject a restored backup brought back by the indexed column; the
    subject id is kept as a keyed digest, never in clear. ``journaled_at`` is
    set once the record is copied to the erasure journal outside the database.
    """

    __tablename__ = "erasure_records"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    request_id: Mapped[str | None] = mapped_column(String(ID))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    subject_digest: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    email_digest: Mapped[bytes | None] = mapped_column(LargeBinary)
    journaled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class RequestReceipt(Base):
    """What lets the person who filed a request follow it once their account is gone (an erasure).

    The browser that filed it holds a random receipt; this row holds its keyed digest. It shows that
    one request's progress, which names no one (states, systems, what a law keeps back), until it expires.
    """

    __tablename__ = "dsr_receipts"

    request_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("dsr_requests.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
