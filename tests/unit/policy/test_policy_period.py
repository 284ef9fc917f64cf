"""Periods count months on the calendar (Regulation 1182/71 Art. 3) and days as days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from privacy_service.policy import Period


def test_a_month_after_31_january_is_the_last_day_of_february() -> None:
    assert Period(months=1).after(datetime(2026, 1, 31, 9, 30, tzinfo=UTC)) == datetime(
        2026, 2, 28, 9, 30, tzinfo=UTC
    )


def test_a_month_after_31_january_of_a_leap_year_is_29_february() -> None:
    assert Period(months=1).after(datetime(2028, 1, 31, tzinfo=UTC)) == datetime(2028, 2, 29, tzinfo=UTC)


def test_a_month_ends_on_the_same_date_of_the_next_month() -> None:
    assert Period(months=1).after(datetime(2026, 3, 15, 12, tzinfo=UTC)) == datetime(
        2026, 4, 15, 12, tzinfo=UTC
    )


def test_months_cross_the_year() -> None:
    assert Period(months=2).after(datetime(2026, 12, 31, tzinfo=UTC)) == datetime(2027, 2, 28, tzinfo=UTC)


def test_years_from_29_february_end_on_28_february() -> None:
    assert Period.parse("1 year").after(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(
        2029, 2, 28, tzinfo=UTC
    )


def test_days_are_calendar_days_across_a_leap_day() -> None:
    assert Period(days=15).after(datetime(2028, 2, 20, tzinfo=UTC)) == datetime(2028, 3, 6, tzinfo=UTC)
    assert Period(days=45).after(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2026, 2, 15, tzinfo=UTC)


def test_months_come_before_days() -> None:
    assert Period(months=1, days=1).after(datetime(2026, 1, 31, tzinfo=UTC)) == datetime(
        2026, 3, 1, tzinfo=UTC
    )


def test_the_time_of_day_and_the_timezone_are_kept() -> None:
    berlin_winter = timezone(timedelta(hours=1))
    due = Period(months=1).after(datetime(2026, 1, 10, 23, 15, tzinfo=berlin_winter))
    assert (due.day, due.hour, due.minute, due.tzinfo) == (10, 23, 15, berlin_winter)


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("1 month", Period(months=1)),
        ("2 months", Period(months=2)),
        ("15 days", Period(days=15)),
        ("10 years", Period(months=120)),
        ("1 month 15 days", Period(months=1, days=15)),
        ("1 Month and 1 day", Period(months=1, days=1)),
    ],
)
def test_periods_are_read_from_words(text: str, period: Period) -> None:
    assert Period.parse(text) == period


@pytest.mark.parametrize("text", ["", "month", "1 fortnight", "-1 month", "1.5 months", "30"])
def test_anything_else_is_not_a_period(text: str) -> None:
    with pytest.raises(ValueError, match="must be a period"):
        Period.parse(text)


def test_a_negative_period_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="negative"):
        Period(days=-1)


@pytest.mark.parametrize(
    ("period", "words"),
    [
        (Period(months=1), "1 month"),
        (Period(months=2), "2 months"),
        (Period(days=15), "15 days"),
        (Period(days=45), "45 days"),
        (Period(days=1), "1 day"),
        (Period(months=120), "10 years"),
        (Period(months=12), "1 year"),
        (Period(months=1, days=15), "1 month and 15 days"),
        (Period(), "0 days"),
    ],
)
def test_a_period_describes_itself_in_words(period: Period, words: str) -> None:
    assert period.describe() == words


def test_a_period_before_counts_months_back_on_the_calendar() -> None:
    assert Period(months=24).before(datetime(2026, 3, 15, 12, tzinfo=UTC)) == datetime(
        2024, 3, 15, 12, tzinfo=UTC
    )
    assert Period(months=1).before(datetime(2026, 3, 31, 8, tzinfo=UTC)) == datetime(
        2026, 2, 28, 8, tzinfo=UTC
    )
    assert Period(months=2).before(datetime(2026, 1, 10, tzinfo=UTC)) == datetime(2025, 11, 10, tzinfo=UTC)
    assert Period(months=1, days=1).before(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(
        2026, 1, 28, tzinfo=UTC
    )


@pytest.mark.parametrize("period", [Period(months=1), Period(months=24), Period(months=1, days=15)])
def test_a_period_after_the_moment_a_period_before_never_ends_later(period: Period) -> None:
    """The records kept for a period are never let go early: ``after(before(m)) <= m`` on every day of
    a leap year and its neighbours, month ends and hours that clamping moves included."""
    moment = datetime(2027, 12, 1, 23, 30, tzinfo=UTC)
    while moment < datetime(2029, 3, 31, tzinfo=UTC):
        earlier = period.before(moment)
        assert earlier < moment
        assert period.after(earlier) <= moment, (period, moment)
        moment += timedelta(hours=13)
