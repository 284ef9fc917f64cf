"""What can go wrong with a subject's data key."""

from __future__ import annotations

from privacy_service.core.errors import Conflict, DomainError, NotFound


class SubjectKeyNotFound(NotFound):
    code = "subject_key_not_found"
    title = "No data key for this subject"


class SubjectKeyDestroyed(DomainError):
    """The subject was erased: their data key is gone and their data with it."""

    code = "subject_erased"
    status = 410
    title = "The data subject's personal data was erased"


class SubjectKeyExists(Conflict):
    code = "subject_key_exists"
    title = "This subject already has a data key"


class RotationUnsupported(DomainError):
    code = "rotation_unsupported"
    title = "This key provider cannot add a KEK version by itself"
    status = 409
