"""The answers given to a shop's ``Idempotency-Key``s, kept so a retried request gets the first answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from privacy_service.core.db import Base
from privacy_service.core.types import UTCDateTime

IDEMPOTENCY_KEY_LENGTH = 255
DIGEST_LENGTH = 64  # SHA-256, lowercase hex


class IdempotencyKey(Base):
    """One client's key, the digest of the request first sent with it, and the answer that request got.

    The primary key ``(client_id, key)`` is what makes two concurrent requests
    with one key write one event: the second insert conflicts, and the second
    request answers from this row. Written in the event's own transaction.
    """

    __tablename__ = "shop_event_idempotency_keys"

    client_id: Mapped[str] = mapped_column(
        String(26), ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_LENGTH), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
