"""What a notice to a data subject about their request may say: the facts its templates see.

A notice is written from the shop's template of its kind in the subject's
language (``texts.SubjectTexts``); the facts are plain data, and what the
subject wrote or an officer typed reaches its HTML form only escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

#: API.md: every request is acknowledged at once; then extended, rejected or completed.
NOTICE_KINDS = ("acknowledged", "extended", "rejected", "completed")


@dataclass(frozen=True)
class Remedies:
    """Where the subject can turn when refused: the supervisory authority, and the courts."""

    authority: str
    address: str | None = None
    url: str | None = None
    courts: str | None = None


@dataclass(frozen=True)
class RetainedFact:
    """Something a system keeps under a legal obligation, as it told us."""

    system: str
    category: str
    reason: str
    until: str | None = None


@dataclass(frozen=True)
class NoticeFacts:
    """What a notice may say. Fields a kind does not use stay None (an acknowledgement has no outcome)."""

    request_id: str
    request_type: str  # access | erasure
    received_at: datetime
    due_at: datetime
    jurisdiction: str  # the law's name as the policies give it: "EU/EEA — GDPR"
    law: str
    privacy_center_url: str
    given_name: str | None = None
    extension_reason: str | None = None
    rejection_reason: str | None = None  # dsr.states.RejectionReason's value
    rejection_detail: str | None = None
    remedies: Remedies | None = None
    outcome: str | None = None  # completed | partially_completed | failed
    export_until: datetime | None = None
    retained: tuple[RetainedFact, ...] = field(default=())


@dataclass(frozen=True)
class RenderedNotice:
    language: str
    subject_line: str
    text: str
    html: str


SAMPLE_NOTICE = NoticeFacts(
    request_id="01JSAMPLE0000000000000000",
    request_type="erasure",
    received_at=datetime(2027, 1, 31, 9, 30, tzinfo=UTC),
    due_at=datetime(2027, 3, 1, 9, 30, tzinfo=UTC),
    jurisdiction="Sample",
    law="Sample law",
    privacy_center_url="https://shop.example/privacy/",
    given_name="Sam",
    extension_reason="Sample reason",
    rejection_reason="other",
    rejection_detail="Sample detail",
    remedies=Remedies(
        authority="Sample authority", address="1 Sample Street", url="https://a.example", courts="x"
    ),
    outcome="partially_completed",
    export_until=datetime(2027, 3, 8, tzinfo=UTC),
    retained=(
        RetainedFact(system="invoicing", category="invoices", reason="Sample law", until="2035-12-31"),
    ),
)
