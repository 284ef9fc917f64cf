"""The wrapped data key of each data subject."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_service.core.db import Base
from privacy_service.core.ids import new_id
from privacy_service.core.types import UTCDateTime


class SubjectKey(Base):
    """One subject's 256-bit data key, stored only wrapped by a KEK version.

    Shredding sets ``wrapped`` to NULL and stamps ``destroyed_at``: every value
    encrypted under the key becomes unreadable, wherever it was copied, and the
    tombstone lets a later read say "erased" rather than "missing".
    """

    __tablename__ = "subject_keys"
    __table_args__ = (Index("ix_subject_keys_kek_version", "kek_version"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    kek_version: Mapped[int | None] = mapped_column(Integer)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
