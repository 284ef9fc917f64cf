"""When an answer is due, as each law counts it: pure functions of the rule, the calendar and the moments.

The rule is the jurisdiction's (``policies/jurisdictions.yaml``): a period in
calendar months, calendar days or working days, whether a period ending on a
weekend or public holiday moves to the next working day (Regulation 1182/71
Art. 3(4), which the GDPR's month follows), an extension, an acknowledgement.
The calendar is the subject's country's (``policies/holidays.yaml``).

Days are counted on the calendar of the timezone each moment is given in, and
the time of day is kept, so a deadline ends at the hour the request arrived
(the service gives moments in UTC).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from privacy_service.policy.holidays import HolidayCalendar
from privacy_service.policy.jurisdictions import Jurisdiction
from privacy_service.policy.period import TimeLimit, WorkingDays


class ExtensionRefusal(StrEnum):
    """Why a request's deadline cannot be extended now; the caller answers 409 ``extension_not_allowed``."""

    ALREADY_EXTENDED = "already_extended"
    FIRST_PERIOD_OVER = "first_period_over"
    NO_EXTENSION_IN_LAW = "no_extension_in_law"

    @property
    def detail(self) -> str:
        """A sentence for the problem's detail, naming no one."""
        match self:
            case ExtensionRefusal.ALREADY_EXTENDED:
                return "the deadline of this request has already been extended once"
            case ExtensionRefusal.FIRST_PERIOD_OVER:
                return "the first period has ended; an extension must be taken before it ends"
            case ExtensionRefusal.NO_EXTENSION_IN_LAW:
                return "the law that applies to this request allows no extension"


def end_of(
    limit: TimeLimit, *, start: datetime, calendar: HolidayCalendar, roll_to_working_day: bool
) -> datetime:
    """The moment ``limit`` after ``start``.

    Calendar periods follow ``Period.after`` and, with ``roll_to_working_day``,
    move to the next working day when they end on a weekend or listed holiday;
    working days are counted from the day after ``start`` and always end on a
    working day. A zero limit ("at once") is ``start`` itself.
    """
    _require_aware(start, "start")
    if limit.is_zero:
        return start
    if isinstance(limit, WorkingDays):
        return _on_day(start, calendar.working_days_after(start.date(), limit.count))
    end = limit.after(start)
    if roll_to_working_day:
        end = _on_day(end, calendar.working_day_from(end.date()))
    return end


def due_at(*, jurisdiction: Jurisdiction, received_at: datetime, calendar: HolidayCalendar) -> datetime:
    """When the answer to a request received at ``received_at`` is due, before any extension."""
    return end_of(
        jurisdiction.deadline,
        start=received_at,
        calendar=calendar,
        roll_to_working_day=jurisdiction.roll_to_working_day,
    )


def extended_due_at(
    *, jurisdiction: Jurisdiction, first_due_at: datetime, calendar: HolidayCalendar
) -> datetime | None:
    """When the answer is due once extended, None where the law allows no extension.

    The extension counts from ``first_due_at``, the end of the first period as
    the request was told it (itself on a working day where the rule says so),
    and ends on a working day under the same rule.
    """
    if jurisdiction.extension is None:
        return None
    return end_of(
        jurisdiction.extension,
        start=first_due_at,
        calendar=calendar,
        roll_to_working_day=jurisdiction.roll_to_working_day,
    )


def extension_refusal(
    *, jurisdiction: Jurisdiction, first_due_at: datetime, extended: bool, now: datetime
) -> ExtensionRefusal | None:
    """Why the deadline cannot be extended at ``now``, or None when it can.

    An extension is taken once, before the first period has ended (before
    ``first_due_at``), and only where the law has one.
    """
    _require_aware(first_due_at, "first_due_at")
    _require_aware(now, "now")
    if jurisdiction.extension is None:
        return ExtensionRefusal.NO_EXTENSION_IN_LAW
    if extended:
        return ExtensionRefusal.ALREADY_EXTENDED
    if now >= first_due_at:
        return ExtensionRefusal.FIRST_PERIOD_OVER
    return None


def acknowledge_by(
    *, jurisdiction: Jurisdiction, received_at: datetime, calendar: HolidayCalendar
) -> datetime | None:
    """When the request must have been acknowledged, None where the law sets no time for it."""
    if jurisdiction.acknowledge_within is None:
        return None
    return end_of(
        jurisdiction.acknowledge_within,
        start=received_at,
        calendar=calendar,
        roll_to_working_day=jurisdiction.roll_to_working_day,
    )


def _on_day(moment: datetime, day: date) -> datetime:
    """``moment`` moved to ``day`` on its own calendar, keeping its time of day and timezone."""
    return moment + timedelta(days=(day - moment.date()).days)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
