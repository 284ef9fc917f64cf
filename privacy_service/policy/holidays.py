"""Working days: Monday to Friday, less a country's public holidays, plus the weekend days it works.

A deadline that must end on a working day (Regulation 1182/71 Art. 3(4)) or
is counted in working days (the CCPA's business days) skips Saturdays, Sundays
and the public holidays that ``policies/holidays.yaml`` lists for the
subject's country. China also declares some weekend days working days (days
worked in lieu of a longer holiday), and those count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

from privacy_service.policy.jurisdictions import normalise_country

_SATURDAY = 5


def _no_days() -> Mapping[date, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class HolidayCalendar:
    """The working calendar of one country.

    ``country`` is the code whose list this is ("US" for a subject in "US-NY"),
    None when no list applies and only weekends are skipped.
    """

    country: str | None
    holidays: Mapping[date, str] = field(default_factory=_no_days)
    working_weekend_days: Mapping[date, str] = field(default_factory=_no_days)

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekend_days:
            return True
        return day.weekday() < _SATURDAY and day not in self.holidays

    def working_day_from(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_after(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day``; ``day`` is not counted (Reg. 1182/71 Art. 3(1))."""
        for _ in range(count):
            day = self.working_day_from(day + timedelta(days=1))
        return day

    def days_off_between(self, first: date, last: date) -> list[tuple[date, str]]:
        """The listed holidays from ``first`` to ``last`` inclusive, by date."""
        return sorted((day, name) for day, name in self.holidays.items() if first <= day <= last)

    def working_weekend_days_between(self, first: date, last: date) -> list[tuple[date, str]]:
        """The listed weekend days worked from ``first`` to ``last`` inclusive, by date."""
        return sorted((day, name) for day, name in self.working_weekend_days.items() if first <= day <= last)

    @property
    def years(self) -> tuple[int, ...]:
        """The years the list has dates in, ascending: beyond them only weekends are skipped."""
        return tuple(sorted({day.year for day in (*self.holidays, *self.working_weekend_days)}))


#: No list: weekends only.
WEEKENDS_ONLY = HolidayCalendar(country=None)


@dataclass(frozen=True)
class HolidayCalendars:
    """Every country's list, found by subdivision first ("US-CA"), then its country ("US")."""

    by_country: Mapping[str, HolidayCalendar] = field(default_factory=lambda: MappingProxyType({}))

    def for_country(self, country: str | None) -> HolidayCalendar:
        """The list of ``country``; a subdivision's own list replaces its country's, so it is complete."""
        if country is None or not country.strip():
            return WEEKENDS_ONLY
        code = normalise_country(country)
        found = self.by_country.get(code) or self.by_country.get(code.partition("-")[0])
        return found or WEEKENDS_ONLY
