"""Named failures of the audit trail."""

from __future__ import annotations

from privacy_service.core.errors import DomainError


class AuditError(DomainError):
    code = "audit_error"
    status = 500
    title = "Audit trail error"


class NoSigningKey(AuditError):
    """No active checkpoint-signing key exists; ``ensure_signing_key`` creates one."""

    code = "audit_no_signing_key"
    title = "No audit checkpoint signing key"


class SealingConflict(AuditError):
    """An event of the batch being sealed was no longer unsealed: another sealer got there first.

    The advisory lock makes this impossible on PostgreSQL and SQLite has one
    writer; should it happen anyway, the batch is rolled back whole rather
    than sealed in part.
    """

    code = "audit_sealing_conflict"
    title = "Another sealer sealed these events"
