"""What the policies would do with one request, for ``privacy-service policies explain``.

A dry run an operator or auditor can read before a real request arrives:
which law applies, when the answer is due and how that is counted (working
days, the public holidays used), when it must be acknowledged, who must
approve, which systems are asked, and what is kept back under a legal
obligation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from privacy_service.policy import deadlines
from privacy_service.policy.holidays import HolidayCalendar
from privacy_service.policy.jurisdictions import Jurisdiction
from privacy_service.policy.period import Period, TimeLimit, WorkingDays, describe_time_limit
from privacy_service.policy.request_types import RequestType
from privacy_service.policy.retention import RetentionRule

_HOLIDAYS_FILE = "policies/holidays.yaml"


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

    @property
    def acknowledge_by(self) -> datetime | None:
        """When the request must have been acknowledged, where the law sets a time for it."""
        if self.received_at is None:
            return None
        return deadlines.acknowledge_by(
            jurisdiction=self.jurisdiction, received_at=self.received_at, calendar=self.holidays
        )

    def holidays_within(self) -> list[tuple[date, str]]:
        """The listed holidays from receipt to the last date counted in working days: the ones that count."""
        window = self._window()
        return self.holidays.days_off_between(*window) if window else []

    def working_weekend_days_within(self) -> list[tuple[date, str]]:
        """The listed weekend days worked from receipt to the last date counted in working days."""
        window = self._window()
        return self.holidays.working_weekend_days_between(*window) if window else []

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
        if jurisdiction.deadline_note:
            lines.append(f"deadline note: {jurisdiction.deadline_note}")
        if jurisdiction.extension is None:
            lines.append("extension: none; this law allows no extension")
        else:
            extension = f"extension: up to {jurisdiction.extension.describe()} more"
            if self.latest_due_at is not None:
                extension += f" (at the latest {_timestamp(self.latest_due_at)})"
            lines.append(extension + ", counted from the end of the first period")
        lines.append(self._acknowledgement())
        lines.append(f"working days: {self._working_days()}")
        lines.extend(self._holidays())
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
        """The same as a JSON-ready dict (timestamps RFC 3339 in UTC, days ISO 8601)."""
        jurisdiction = self.jurisdiction
        acknowledge_within = jurisdiction.acknowledge_within
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
            "deadline_note": jurisdiction.deadline_note,
            "roll_to_working_day": jurisdiction.roll_to_working_day,
            "received_at": _timestamp(self.received_at) if self.received_at else None,
            "due_at": _timestamp(self.due_at) if self.due_at else None,
            "extension": jurisdiction.extension.describe() if jurisdiction.extension else None,
            "latest_due_at": _timestamp(self.latest_due_at) if self.latest_due_at else None,
            "acknowledge_within": describe_time_limit(acknowledge_within) if acknowledge_within else None,
            "acknowledge_by": _timestamp(self.acknowledge_by) if self.acknowledge_by else None,
            "holidays": {
                "counted": jurisdiction.counts_working_days,
                "list": self.holidays.country,
                "years": list(self.holidays.years),
                "within_period": [
                    {"date": day.isoformat(), "name": name} for day, name in self.holidays_within()
                ],
                "working_weekend_days_within_period": [
                    {"date": day.isoformat(), "name": name}
                    for day, name in self.working_weekend_days_within()
                ],
            },
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

    def _window(self) -> tuple[date, date] | None:
        """From the day of receipt to the last day a date counted in working days can fall on."""
        if self.received_at is None:
            return None
        jurisdiction = self.jurisdiction
        counted = [
            moment
            for limit, moment in (
                (jurisdiction.deadline, self.due_at),
                (jurisdiction.extension, self.latest_due_at),
                (jurisdiction.acknowledge_within, self.acknowledge_by),
            )
            if moment is not None and _uses_working_days(limit, roll=jurisdiction.roll_to_working_day)
        ]
        if not counted:
            return None
        return self.received_at.date(), max(moment.date() for moment in counted)

    def _acknowledgement(self) -> str:
        within = self.jurisdiction.acknowledge_within
        done = "the service acknowledges every request when it is received"
        if within is None:
            return f"acknowledgement: no time set by this law; {done}"
        text = "acknowledgement: " + ("at once" if within.is_zero else f"within {within.describe()}")
        if not within.is_zero and self.acknowledge_by is not None:
            text += f" (by {_timestamp(self.acknowledge_by)} if received now)"
        return f"{text}; {done}"

    def _working_days(self) -> str:
        jurisdiction = self.jurisdiction
        if not jurisdiction.counts_working_days:
            return "not counted; every period ends on its calendar day, weekend or holiday"
        counted = "Monday to Friday, less the public holidays below"
        if jurisdiction.roll_to_working_day:
            return f"{counted}; a period ending on any other day ends on the next working day"
        limits = (jurisdiction.deadline, jurisdiction.extension, jurisdiction.acknowledge_within)
        if any(isinstance(limit, Period) and not limit.is_zero for limit in limits):
            return f"{counted}; periods in calendar days end on their own day, weekend or not"
        return counted

    def _holidays(self) -> list[str]:
        if not self.jurisdiction.counts_working_days:
            return ["public holidays: not used by this law's periods"]
        calendar = self.holidays
        if calendar.country is None or not calendar.years:
            return [f"public holidays: none listed for {self.country} in {_HOLIDAYS_FILE}; weekends only"]
        years = calendar.years
        covered = f"{years[0]}" if len(years) == 1 else f"{years[0]} to {years[-1]}"
        lines = [f"public holidays: the {calendar.country} list in {_HOLIDAYS_FILE} ({covered})"]
        window = self._window()
        if window is None:
            return lines
        within = self.holidays_within()
        lines.append(
            "  within this request's period: "
            + ("; ".join(f"{day.isoformat()} {name}" for day, name in within) if within else "none")
        )
        for day, name in self.working_weekend_days_within():
            lines.append(f"  worked although a weekend day: {day.isoformat()} {name}")
        if window[1].year > years[-1]:
            lines.append(f"  beware: the list ends with {years[-1]}; after it, only weekends are skipped")
        return lines


def _uses_working_days(limit: TimeLimit | None, *, roll: bool) -> bool:
    if limit is None or limit.is_zero:
        return False
    return roll or isinstance(limit, WorkingDays)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
