"""What can go wrong with a data subject's personal data.

An erased subject is reported with ``keys``' ``SubjectKeyDestroyed`` (410,
``subject_erased``): the key's tombstone is what remembers the erasure once
the subject's rows are gone. Messages never carry personal values.
"""

from __future__ import annotations

from privacy_service.core.errors import Conflict, DomainError, NotFound


class SubjectNotFound(NotFound):
    """No data subject has this id, and none was ever erased under it."""

    code = "subject_not_found"
    title = "No data subject with this id"


class SubjectExists(Conflict):
    """A data subject with this id exists already (only a caller that chooses the id can meet this)."""

    code = "subject_exists"
    title = "A data subject with this id exists already"


class EmailTaken(Conflict):
    """Another data subject already has this email address (compared after normalisation)."""

    code = "email_taken"
    title = "This email address belongs to another data subject"


class RecordNotFound(NotFound):
    """The subject exists but holds no record under this category."""

    code = "record_not_found"
    title = "No record of this category for this data subject"


class InvalidRecord(DomainError):
    """A category or data that ``vault.schemas`` refuses; the detail names the rule, never the value."""

    code = "invalid_record"
    status = 422
    title = "The record cannot be stored"
