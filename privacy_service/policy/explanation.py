"""What the policies would do with one request, for ``privacy-service policies explain``.

A dry run an operator or auditor can read before a real request arrives:
which law applies, when the answer is due, who must approve, which systems
are asked, and what is kept back under a legal obligation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from privacy_service.policy import deadlines
from privacy_service.policy.holidays import HolidayCalendar
from privacy_service.policy.jurisdictions import Jurisdiction
from privacy_service.policy.request_types import RequestType
from privacy_service.policy.retention import RetentionRule


@dataclass(frozen=True)
class Explanation:
    country: str
    request_type: RequestType
    jurisdiction: Jurisdiction
    needs_approval: bool
    systems: tuple[str, ...]
    notice_systems: tuple[str, ...]
    retention: tuple[RetentionRule, ...]
    #: The working calendar of ``country``, used where the law counts working days.
    holidays: HolidayCalendar
    received_at: datetime | None = None

    @property
    def due_at(self) -> datetime | None:
        """When the answer is due if the request was received at ``received_at``."""
        if self.received_at is None:
            return None
        return deadlines.due_at(
            jurisdiction=self.jurisdiction, received_at=self.received_at, calendar=self.holidays
        )

    @property
    def latest_due_at(self) -> datetime | None:
        """The furthest the deadline can move, if extended once."""
        due_at = self.due_at
        if due_at is None:
            return None
        return deadlines.extended_due_at(
            jurisdiction=self.jurisdiction, first_due_at=due_at, calendar=self.holidays
        )

    def render(self) -> list[str]:
        """Lines for a terminal; names of systems only, never their secrets."""
        jurisdiction = self.jurisdiction
        lines = [
            f"{self.request_type} request from {self.country}",
            f"jurisdiction: {jurisdiction.name} ({jurisdiction.code})",
            f"law: {jurisdiction.law}",
        ]
        if jurisdiction.supervisory_authority:
            lines.append(f"supervisory authority: {jurisdiction.supervisory_authority}")
        deadline = f"deadline: {jurisdiction.deadline.describe()}"
        if self.due_at is not None:
            deadline += f" (due {_timestamp(self.due_at)} if received now)"
        lines.append(deadline)
        if jurisdiction.extension is None:
            lines.append("extension: none; this law allows no extension")
        else:
            extension = f"extension: up to {jurisdiction.extension.describe()} more"
            if self.latest_due_at is not None:
                extension += f" (at the latest {_timestamp(self.latest_due_at)})"
            lines.append(extension)
        lines.append(
            "approval: a compliance officer must approve it first"
            if self.needs_approval
            else "approval: not needed; it starts at once"
        )
        asked = ", ".join(self.systems) if self.systems else "none declared in policies/"
        lines.append(f"downstream systems asked: {asked} (and any registered through the API)")
        notified = ", ".join(self.notice_systems) if self.notice_systems else "none declared in policies/"
        lines.append(f"notices sent to: {notified}")
        if self.request_type is RequestType.ERASURE:
            lines.append("kept back under a legal obligation (GDPR Art. 17(3)(b)):")
        else:
            lines.append("retention periods reported in the export:")
        if not self.retention:
            lines.append("  none in policies/retention.yaml")
        for rule in self.retention:
            lines.append(f"  {rule.category}: {rule.keep_for.describe()}; {rule.legal_basis}")
        lines.append(
            "downstream systems may keep more under their own obligations; they report it as `retained`"
        )
        return lines

    def to_json(self) -> dict[str, object]:
        """The same as a JSON-ready dict (timestamps RFC 3339 in UTC)."""
        jurisdiction = self.jurisdiction
        return {
            "country": self.country,
            "type": str(self.request_type),
            "jurisdiction": {
                "code": jurisdiction.code,
                "name": jurisdiction.name,
                "law": jurisdiction.law,
                "supervisory_authority": jurisdiction.supervisory_authority,
            },
            "deadline": jurisdiction.deadline.describe(),
            "received_at": _timestamp(self.received_at) if self.received_at else None,
            "due_at": _timestamp(self.due_at) if self.due_at else None,
            "extension": jurisdiction.extension.describe() if jurisdiction.extension else None,
            "latest_due_at": _timestamp(self.latest_due_at) if self.latest_due_at else None,
            "needs_approval": self.needs_approval,
            "systems": list(self.systems),
            "notice_systems": list(self.notice_systems),
            "retention": [
                {
                    "category": rule.category,
                    "countries": sorted(rule.countries),
                    "keep_for": rule.keep_for.describe(),
                    "legal_basis": rule.legal_basis,
                }
                for rule in self.retention
            ],
        }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
