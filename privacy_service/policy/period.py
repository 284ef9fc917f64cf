"""Periods as the laws write them: months and days on the calendar, or working days.

A deadline of "one month" is not 30 days: Regulation (EEC, Euratom) No
1182/71, Art. 3(2)(c), ends a period of months on the same date of the last
month, or on that month's last day when the date does not exist there (a
request received on 31 January is due on 28 or 29 February). Days are plain
calendar days. Working days ("10 business days" in the CCPA regulations) need
a country's holidays to count, so ``deadlines`` counts them; here they are
only read and described.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

_PART = re.compile(r"(\d+)\s*(year|month|day)s?", re.IGNORECASE)
_WHOLE = re.compile(r"\s*\d+\s*(?:year|month|day)s?(?:\s*(?:,|and)?\s*\d+\s*(?:year|month|day)s?)*\s*", re.I)
_WORKING_DAYS = re.compile(r"\s*(\d+)\s+(working|business)\s+days?\s*", re.IGNORECASE)
_CALENDAR_DAYS = re.compile(r"\s*(\d+)\s+calendar\s+days?\s*", re.IGNORECASE)
_AT_ONCE = re.compile(r"\s*(?:at once|immediately)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A length of time in months and days; years are written as twelve months."""

    months: int = 0
    days: int = 0

    def __post_init__(self) -> None:
        if self.months < 0 or self.days < 0:
            raise ValueError("a period cannot be negative")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read "1 month", "15 days", "10 years" or "1 month 15 days"; raise ValueError otherwise."""
        if not _WHOLE.fullmatch(text):
            raise ValueError("must be a period such as '1 month', '15 days' or '10 years'")
        months = days = 0
        for amount, unit in _PART.findall(text):
            match unit.lower():
                case "year":
                    months += 12 * int(amount)
                case "month":
                    months += int(amount)
                case _:
                    days += int(amount)
        return cls(months=months, days=days)

    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.days == 0

    def after(self, moment: datetime) -> datetime:
        """The moment this period after ``moment``: months on the calendar (clamped), then days.

        Time of day and timezone are kept, so a deadline ends at the hour the
        request arrived.
        """
        return _months_later(moment, self.months) + timedelta(days=self.days)

    def before(self, moment: datetime) -> datetime:
        """The moment this period before ``moment``: days back, then months on the calendar (clamped).

        Where clamping leaves no exact inverse (a period of months ending on a
        month's last day), the answer is the earlier moment: ``after(before(m))``
        is never later than ``m``, so what must be kept for a period is never
        let go before the period has run from it.
        """
        return _months_later(moment - timedelta(days=self.days), -self.months)

    def describe(self) -> str:
        """The period in words: "1 month", "15 days", "10 years", "1 month and 15 days"."""
        parts: list[str] = []
        if self.months and self.months % 12 == 0:
            parts.append(_plural(self.months // 12, "year"))
        elif self.months:
            parts.append(_plural(self.months, "month"))
        if self.days or not parts:
            parts.append(_plural(self.days, "day"))
        return " and ".join(parts)


def _months_later(moment: datetime, months: int) -> datetime:
    """``moment`` moved ``months`` on the calendar (back when negative), the day clamped to the month."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _plural(amount: int, unit: str) -> str:
    return f"{amount} {unit}" if amount == 1 else f"{amount} {unit}s"


@dataclass(frozen=True)
class WorkingDays:
    """A number of working days, as the law calls them ("working" or "business" days)."""

    count: int
    word: str = field(default="working", compare=False)

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("a period cannot be negative")

    @property
    def is_zero(self) -> bool:
        return self.count == 0

    def describe(self) -> str:
        """In words: "15 working days", "10 business days", "1 working day"."""
        return _plural(self.count, f"{self.word} day")


#: How long a law gives: a calendar period or a number of working days.
TimeLimit = Period | WorkingDays


def parse_time_limit(text: str, *, at_once: bool = False) -> TimeLimit:
    """Read "1 month", "45 days", "45 calendar days" or "15 working days" (or "10 business days").

    With ``at_once``, "at once" and "immediately" are read as a zero period.
    Raise ValueError otherwise.
    """
    if at_once and _AT_ONCE.fullmatch(text):
        return Period()
    if working := _WORKING_DAYS.fullmatch(text):
        return WorkingDays(count=int(working[1]), word=working[2].lower())
    if calendar_days := _CALENDAR_DAYS.fullmatch(text):
        return Period(days=int(calendar_days[1]))
    try:
        return Period.parse(text)
    except ValueError:
        example = "'at once', '10 business days'" if at_once else "'1 month', '45 days'"
        raise ValueError(f"must be a period such as {example} or '15 working days'") from None


def describe_time_limit(limit: TimeLimit) -> str:
    """The limit in words; a zero period is "at once"."""
    return "at once" if limit.is_zero else limit.describe()
