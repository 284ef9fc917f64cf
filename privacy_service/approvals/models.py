"""Approvals: one row per operation a shop asked a customer to approve.

Plaintext is structure (ids, states, times, the action and its target, the
digest); the operation's details, which may be personal, are encrypted under
the subject's data key, so erasing the subject makes them unreadable too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_service.audit.actions import PARTY_ID_LENGTH
from privacy_service.core.db import Base
from privacy_service.core.types import UTCDateTime
from privacy_service.keys.fields import encrypted_column

ID = 26
DIGEST_LENGTH = 71  # "sha256:" and 64 hex digits
DETAILS_COLUMN = "details"


class Approval(Base):
    __tablename__ = "approvals"
    __table_args__ = (
        # The worker's sweep of approvals that ran out while pending or unused.
        Index("ix_approvals_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(ID), ForeignKey("clients.id"), index=True)
    subject_id: Mapped[str] = mapped_column(String(ID), index=True)  # no foreign key: outlives erasure
    action: Mapped[str] = mapped_column(String(100))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(PARTY_ID_LENGTH))
    details: Mapped[bytes | None] = encrypted_column()
    operation_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH))
    status: Mapped[str] = mapped_column(String(16))  # approvals.service.ApprovalStatus
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_id: Mapped[str | None] = mapped_column(String(ID), unique=True)  # the approval token's jti
