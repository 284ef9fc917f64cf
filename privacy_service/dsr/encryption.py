"""Encrypting what the DSR tables hold about a person under that person's data key.

A system's answer, the export bundle and an officer's reasoning are personal
data: each is encrypted under the subject's key, bound to its table and column,
so erasing the subject makes every copy unreadable (``Work.subject_fields``).
"""

from __future__ import annotations

RESULT_COLUMN = "result"  # dsr_tasks
BUNDLE_COLUMN = "bundle"  # dsr_exports
REJECTION_DETAIL_COLUMN = "rejection_detail"  # dsr_requests
EXTENSION_REASON_COLUMN = "extension_reason"  # dsr_requests
NOTICE_MESSAGE_COLUMN = "message"  # dsr_notices, under the notice's own key (dsr/notices.py)
