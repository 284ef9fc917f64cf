"""Data subjects, their profiles and their records: every personal value stored only as ciphertext.

A subject's id is also the id of their data key's subject (``keys``) and, once
``identity`` exists, of their user account. Values are encrypted under the
subject's data key and bound to their table, column and subject, so none can
be read without the key nor moved to another row. What stays in plaintext is
structure: ids, timestamps, record categories (labels such as ``address``)
and the keyed blind index of the normalised email, which only someone holding
the blind index key can test a guess against.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from privacy_service.core.db import Base
from privacy_service.core.ids import new_id
from privacy_service.core.types import UTCDateTime
from privacy_service.keys.fields import encrypted_column

SUBJECT_ID_LENGTH = 26
CATEGORY_LENGTH = 64


class Subject(Base):
    """A data subject: a person the shop holds personal data about, findable by exact email only."""

    __tablename__ = "subjects"

    id: Mapped[str] = mapped_column(String(SUBJECT_ID_LENGTH), primary_key=True, default=new_id)
    email_index: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Profile(Base):
    """The subject's profile, one row per subject; ``extra`` is encrypted JSON, absent when empty."""

    __tablename__ = "profiles"

    subject_id: Mapped[str] = mapped_column(
        String(SUBJECT_ID_LENGTH), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[bytes] = encrypted_column(nullable=False)
    given_name: Mapped[bytes | None] = encrypted_column()
    family_name: Mapped[bytes | None] = encrypted_column()
    phone: Mapped[bytes | None] = encrypted_column()
    country: Mapped[bytes | None] = encrypted_column()
    locale: Mapped[bytes | None] = encrypted_column()
    extra: Mapped[bytes | None] = encrypted_column()


class PersonalRecord(Base):
    """A JSON object of personal data a shop stores under a category, one per subject and category.

    The ciphertext is bound to its category as well as its subject, so a
    subject's ``tax_id`` cannot be passed off as their ``address``.
    """

    __tablename__ = "personal_records"
    __table_args__ = (UniqueConstraint("subject_id", "category"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(
        String(SUBJECT_ID_LENGTH), ForeignKey("subjects.id", ondelete="CASCADE")
    )
    category: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    data: Mapped[bytes] = encrypted_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
