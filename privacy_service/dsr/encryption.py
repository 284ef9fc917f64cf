"""Encrypting what the DSR tables hold about a person under that person's data key.

A system's answer, the export bundle and an officer's reasoning are personal
data: each is encrypted under the subject's key, bound to its table and column,
so erasing the subject makes every copy unreadable.
"""

from __future__ import annotations

from privacy_service.keys.fields import SubjectFields
from privacy_service.work import Work

RESULT_COLUMN = "result"  # dsr_tasks
BUNDLE_COLUMN = "bundle"  # dsr_exports
REJECTION_DETAIL_COLUMN = "rejection_detail"  # dsr_requests


def subject_fields(work: Work, *, table: str, subject_id: str) -> SubjectFields:
    return SubjectFields(
        key=work.keyring.for_subject(session=work.session, subject_id=subject_id),
        table=table,
        subject_id=subject_id,
    )
