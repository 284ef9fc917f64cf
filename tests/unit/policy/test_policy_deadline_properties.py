"""Properties every deadline keeps, for the shipped rules and any rule the YAML can express.

The calendars are the shipped ones, so the properties hold on real holidays.

Dates keep the time of day the request arrived, so a later receipt can be due
at an earlier hour of the same day (30 January 23:00 and 31 January 01:00 are
both due on 28 February): what is monotonic is the day a request is due.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_service.policy import (
    ExtensionRefusal,
    Jurisdiction,
    Period,
    Policies,
    WorkingDays,
    load_policies,
)
from privacy_service.policy.deadlines import acknowledge_by, due_at, extended_due_at, extension_refusal
from privacy_service.policy.holidays import HolidayCalendar

SHIPPED = Path(__file__).resolve().parents[3] / "policies"
COUNTRIES = ["DE", "FR", "GB", "IE", "BR", "US", "US-CA", "CN", "AT", "JP"]


@cache
def shipped() -> Policies:
    return load_policies(SHIPPED, environ={})


def rule(
    *,
    deadline: Period | WorkingDays,
    roll: bool,
    extension: Period | None,
    acknowledge_within: Period | WorkingDays | None,
) -> Jurisdiction:
    return Jurisdiction(
        code="generated",
        name="Generated",
        law="any rule the YAML can express",
        countries=frozenset(),
        deadline=deadline,
        roll_to_working_day=roll,
        extension=extension,
        acknowledge_within=acknowledge_within,
        approval=frozenset(),
    )


calendar_periods = st.builds(Period, months=st.integers(0, 3), days=st.integers(0, 60)).filter(
    lambda period: not period.is_zero
)
working_days = st.builds(WorkingDays, count=st.integers(1, 30))
limits = st.one_of(calendar_periods, working_days)
generated_rules = st.builds(
    rule,
    deadline=limits,
    roll=st.booleans(),
    extension=st.none() | calendar_periods,
    acknowledge_within=st.none() | st.just(Period()) | limits,
)
shipped_rules = st.sampled_from([*shipped().jurisdictions, shipped().default])
rules = st.one_of(shipped_rules, generated_rules)
calendars = st.sampled_from(COUNTRIES).map(lambda country: shipped().holidays_for(country))
# hypothesis takes naive bounds and attaches the timezone itself.
moments = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001
    max_value=datetime(2028, 10, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def is_day_off(calendar: HolidayCalendar, day: date) -> bool:
    """Independently of is_working_day: a listed holiday, or a weekend day not listed as worked."""
    if day in calendar.holidays:
        return True
    return day.weekday() >= 5 and day not in calendar.working_weekend_days


def ends_on_working_days(jurisdiction: Jurisdiction, limit: Period | WorkingDays | None) -> bool:
    return (
        limit is not None
        and not limit.is_zero
        and (jurisdiction.roll_to_working_day or isinstance(limit, WorkingDays))
    )


@settings(deadline=None)
@given(jurisdiction=rules, calendar=calendars, received=moments)
def test_the_due_date_is_after_receipt_and_keeps_its_hour(
    jurisdiction: Jurisdiction, calendar: HolidayCalendar, received: datetime
) -> None:
    due = due_at(jurisdiction=jurisdiction, received_at=received, calendar=calendar)
    assert due > received
    assert (due.time(), due.tzinfo) == (received.time(), received.tzinfo)


@settings(deadline=None)
@given(jurisdiction=rules, calendar=calendars, received=moments)
def test_a_date_that_must_end_on_a_working_day_is_never_a_weekend_or_a_listed_holiday(
    jurisdiction: Jurisdiction, calendar: HolidayCalendar, received: datetime
) -> None:
    first = due_at(jurisdiction=jurisdiction, received_at=received, calendar=calendar)
    dates = [
        (jurisdiction.deadline, first),
        (
            jurisdiction.extension,
            extended_due_at(jurisdiction=jurisdiction, first_due_at=first, calendar=calendar),
        ),
        (
            jurisdiction.acknowledge_within,
            acknowledge_by(jurisdiction=jurisdiction, received_at=received, calendar=calendar),
        ),
    ]
    for limit, moment in dates:
        if ends_on_working_days(jurisdiction, limit):
            assert moment is not None
            assert not is_day_off(calendar, moment.date())


@settings(deadline=None)
@given(
    jurisdiction=rules,
    calendar=calendars,
    received=moments,
    later_by=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
)
def test_a_later_receipt_is_never_due_on_an_earlier_day(
    jurisdiction: Jurisdiction, calendar: HolidayCalendar, received: datetime, later_by: timedelta
) -> None:
    first = due_at(jurisdiction=jurisdiction, received_at=received, calendar=calendar)
    later = due_at(jurisdiction=jurisdiction, received_at=received + later_by, calendar=calendar)
    assert first.date() <= later.date()
    if later_by < timedelta(days=1) and (received + later_by).date() == received.date():
        assert first <= later  # the same day of receipt: the moment itself is monotonic


@settings(deadline=None)
@given(jurisdiction=rules, calendar=calendars, received=moments)
def test_a_calendar_period_is_period_after_then_at_most_rolled_over_days_off(
    jurisdiction: Jurisdiction, calendar: HolidayCalendar, received: datetime
) -> None:
    if not isinstance(jurisdiction.deadline, Period):
        return
    plain = jurisdiction.deadline.after(received)
    due = due_at(jurisdiction=jurisdiction, received_at=received, calendar=calendar)
    if not jurisdiction.roll_to_working_day:
        assert due == plain
        return
    assert due.time() == plain.time()
    skipped = (due.date() - plain.date()).days
    assert skipped >= 0
    assert all(is_day_off(calendar, plain.date() + timedelta(days=n)) for n in range(skipped))


@settings(deadline=None)
@given(jurisdiction=rules, calendar=calendars, received=moments)
def test_working_days_count_exactly_the_working_days_after_receipt(
    jurisdiction: Jurisdiction, calendar: HolidayCalendar, received: datetime
) -> None:
    if not isinstance(jurisdiction.deadline, WorkingDays):
        return
    due = due_at(jurisdiction=jurisdiction, received_at=received, calendar=calendar)
    between = (due.date() - received.date()).days
    counted = [received.date() + timedelta(days=n) for n in range(1, between + 1)]
    assert sum(not is_day_off(calendar, day) for day in counted) == jurisdiction.deadline.count


@settings(deadline=None)
@given(jurisdiction=rules, calendar=calendars, received=moments)
def test_an_extended_date_is_after_the_first_and_exists_only_where_the_law_has_one(
    jurisdiction: Jurisdiction, calendar: HolidayCalendar, received: datetime
) -> None:
    first = due_at(jurisdiction=jurisdiction, received_at=received, calendar=calendar)
    extended = extended_due_at(jurisdiction=jurisdiction, first_due_at=first, calendar=calendar)
    assert (extended is None) == (jurisdiction.extension is None)
    if extended is not None:
        assert extended > first


@settings(deadline=None)
@given(
    jurisdiction=rules,
    calendar=calendars,
    received=moments,
    asked_after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=150)),
    already=st.booleans(),
)
def test_an_extension_is_refused_exactly_when_the_dates_say_so(
    jurisdiction: Jurisdiction,
    calendar: HolidayCalendar,
    received: datetime,
    asked_after: timedelta,
    already: bool,
) -> None:
    now = received + asked_after
    first = due_at(jurisdiction=jurisdiction, received_at=received, calendar=calendar)
    refusal = extension_refusal(jurisdiction=jurisdiction, first_due_at=first, extended=already, now=now)
    extended = extended_due_at(jurisdiction=jurisdiction, first_due_at=first, calendar=calendar)
    if extended is None:
        assert refusal is ExtensionRefusal.NO_EXTENSION_IN_LAW
    elif already:
        assert refusal is ExtensionRefusal.ALREADY_EXTENDED
    elif now >= first:
        assert refusal is ExtensionRefusal.FIRST_PERIOD_OVER
    else:
        assert refusal is None
        assert now < first < extended


@settings(deadline=None)
@given(jurisdiction=shipped_rules, country=st.sampled_from(COUNTRIES), received=moments)
def test_every_shipped_law_asks_for_the_acknowledgement_no_later_than_the_answer(
    jurisdiction: Jurisdiction, country: str, received: datetime
) -> None:
    policies = shipped()
    acknowledged = policies.acknowledge_by(received_at=received, jurisdiction=jurisdiction, country=country)
    due = policies.due_at(received_at=received, jurisdiction=jurisdiction, country=country)
    assert acknowledged is None or received <= acknowledged < due
