"""An approval's states: ``pending`` → ``approved`` → ``used``, or ``refused`` or ``expired`` on the way."""

from __future__ import annotations

from enum import StrEnum


class ApprovalStatus(StrEnum):
    APPROVED = "approved"
    EXPIRED = "expired"
    PENDING = "pending"
    REFUSED = "refused"
    USED = "used"
