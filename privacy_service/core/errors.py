"""The root of every named domain error.

Checks raise; they do not return booleans. Each error class carries a stable
machine-readable ``code``, an HTTP ``status`` and a ``title``; ``api/problems.py``
turns any of them into an RFC 9457 response in one place. Messages never carry
personal data or secrets: they are shown to callers and written to logs.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A failure the caller can understand and act on."""

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request cannot be processed"

    def __init__(self, detail: str | None = None, **extensions: object) -> None:
        self.detail = detail or self.title
        self.extensions = extensions
        # Seconds after which a retry may succeed (429, 503): answered as Retry-After.
        self.retry_after: int | None = None
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"


class Unavailable(DomainError):
    """A dependency (database, key provider, pool) cannot serve now; retrying later may work."""

    code = "service_unavailable"
    status = 503
    title = "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1, **extensions: object) -> None:
        super().__init__(detail, **extensions)
        self.retry_after = max(1, retry_after)
