"""The shipped deadlines on chosen dates: each law's period, working days, extension and acknowledgement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from privacy_service.policy import ExtensionRefusal, Policies, load_policies

SHIPPED = Path(__file__).resolve().parents[3] / "policies"


@pytest.fixture(scope="module")
def shipped() -> Policies:
    return load_policies(SHIPPED, environ={})


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def due(policies: Policies, country: str | None, received: datetime) -> datetime:
    jurisdiction = policies.jurisdiction_for(country)
    return policies.due_at(received_at=received, jurisdiction=jurisdiction, country=country)


def extended(policies: Policies, country: str | None, received: datetime) -> datetime | None:
    jurisdiction = policies.jurisdiction_for(country)
    first = due(policies, country, received)
    return policies.extended_due_at(first_due_at=first, jurisdiction=jurisdiction, country=country)


def acknowledge_by(policies: Policies, country: str | None, received: datetime) -> datetime | None:
    jurisdiction = policies.jurisdiction_for(country)
    return policies.acknowledge_by(received_at=received, jurisdiction=jurisdiction, country=country)


def refusal(
    policies: Policies, country: str | None, received: datetime, *, now: datetime, already: bool = False
) -> ExtensionRefusal | None:
    jurisdiction = policies.jurisdiction_for(country)
    first = due(policies, country, received)
    return policies.extension_refusal(
        first_due_at=first, jurisdiction=jurisdiction, extended=already, now=now
    )


# GDPR and UK GDPR: one calendar month, then the next working day (Regulation 1182/71 Art. 3(4)).


@pytest.mark.parametrize(
    ("country", "received", "expected"),
    [
        ("DE", "2026-01-31", "2026-03-02"),  # 28 February 2026 is a Saturday
        ("DE", "2028-01-31", "2028-02-29"),  # a leap year: 29 February, a Tuesday
        ("DE", "2028-02-29", "2028-03-29"),  # from a leap day: the same date next month
        ("FR", "2027-01-31", "2027-03-01"),  # 28 February 2027 is a Sunday
        ("DE", "2027-02-28", "2027-03-30"),  # Sunday 28 March, then Easter Monday 29 March
        ("IE", "2026-03-06", "2026-04-07"),  # Easter Monday 6 April 2026
        ("DE", "2026-11-25", "2026-12-28"),  # Christmas Day (Fri), 2nd day of Christmas (Sat), Sunday
        ("GB", "2027-11-25", "2027-12-29"),  # Christmas on a Saturday: substitute days 27 and 28 December
        ("GB", "2026-11-28", "2026-12-29"),  # Boxing Day's substitute, Monday 28 December
        ("DE", "2026-04-22", "2026-05-22"),  # a Friday before Whit Monday stays a Friday
        ("DE", "2026-04-23", "2026-05-26"),  # a Saturday before Whit Monday ends on the Tuesday
    ],
)
def test_the_gdpr_month_ends_on_a_working_day_of_the_subjects_country(
    shipped: Policies, country: str, received: str, expected: str
) -> None:
    assert due(shipped, country, at(received)) == at(expected)


def test_each_member_state_counts_its_own_holidays(shipped: Policies) -> None:
    received = at("2026-03-03")  # due Friday 3 April 2026: Good Friday in Germany, a working day in France
    assert due(shipped, "DE", received) == at("2026-04-07")  # Good Friday, weekend, Easter Monday
    assert due(shipped, "FR", received) == at("2026-04-03")
    assert due(shipped, "AT", received) == at("2026-04-03")  # no list for Austria: weekends only


def test_the_gdpr_extension_counts_two_months_from_the_end_of_the_first_period(shipped: Policies) -> None:
    received = at("2026-01-31")
    assert due(shipped, "DE", received) == at("2026-03-02")
    # 2 May 2026 is a Saturday (and 1 May, Labour Day, the Friday before): Monday 4 May.
    assert extended(shipped, "DE", received) == at("2026-05-04")


def test_the_time_of_day_and_the_timezone_are_kept(shipped: Policies) -> None:
    berlin_winter = timezone(timedelta(hours=1))
    received = datetime(2026, 1, 31, 23, 30, tzinfo=berlin_winter)
    result = due(shipped, "DE", received)
    assert result == datetime(2026, 3, 2, 23, 30, tzinfo=berlin_winter)
    assert result.tzinfo is berlin_winter


def test_a_gdpr_extension_is_allowed_until_the_rolled_end_of_the_first_period(shipped: Policies) -> None:
    received = at("2026-01-31")  # the month ends on Saturday 28 February, the period on Monday 2 March
    assert refusal(shipped, "DE", received, now=at("2026-02-28", hour=12)) is None
    assert refusal(shipped, "DE", received, now=at("2026-03-02", hour=9)) is None
    assert refusal(shipped, "DE", received, now=at("2026-03-02")) is ExtensionRefusal.FIRST_PERIOD_OVER
    assert refusal(shipped, "DE", received, now=at("2026-03-20")) is ExtensionRefusal.FIRST_PERIOD_OVER
    assert (
        refusal(shipped, "DE", received, now=at("2026-02-10"), already=True)
        is ExtensionRefusal.ALREADY_EXTENDED
    )


# CCPA/CPRA: 45 calendar days, extended once by 45; receipt confirmed within 10 business days.


def test_the_ccpa_counts_45_calendar_days_weekend_or_not(shipped: Policies) -> None:
    assert due(shipped, "US-CA", at("2026-01-31")) == at("2026-03-17")
    assert due(shipped, "US-CA", at("2026-02-12")) == at("2026-03-29")  # a Sunday, and it stays
    assert extended(shipped, "US-CA", at("2026-01-31")) == at("2026-05-01")


def test_the_ccpa_acknowledgement_counts_california_business_days(shipped: Policies) -> None:
    # Friday 20 November 2026: Thanksgiving and the day after are state holidays.
    assert acknowledge_by(shipped, "US-CA", at("2026-11-20")) == at("2026-12-08")
    # A request received on a Saturday: the first business day is Monday.
    assert acknowledge_by(shipped, "US-CA", at("2026-01-17")) == at("2026-02-02")  # MLK Day 19 January


def test_a_ccpa_extension_is_refused_once_taken_or_late(shipped: Policies) -> None:
    received = at("2026-01-31")
    assert refusal(shipped, "US-CA", received, now=at("2026-03-16")) is None
    assert refusal(shipped, "US-CA", received, now=at("2026-03-17")) is ExtensionRefusal.FIRST_PERIOD_OVER
    assert (
        refusal(shipped, "US-CA", received, now=at("2026-02-01"), already=True)
        is ExtensionRefusal.ALREADY_EXTENDED
    )


# LGPD: a simplified confirmation at once, the full declaration within 15 days, no extension.


def test_the_lgpd_gives_15_calendar_days_and_no_extension(shipped: Policies) -> None:
    received = at("2026-01-31")
    assert due(shipped, "BR", received) == at("2026-02-15")  # a Sunday, and it stays
    assert due(shipped, "BR", at("2026-04-10")) == at("2026-04-25")  # across Tiradentes, 21 April
    assert acknowledge_by(shipped, "BR", received) == received
    assert extended(shipped, "BR", received) is None
    assert refusal(shipped, "BR", received, now=received) is ExtensionRefusal.NO_EXTENSION_IN_LAW


# PIPL: the shop's own 15 working days, on China's calendar with its weekend days worked.


def test_the_pipl_service_level_counts_chinese_working_days_across_national_day(shipped: Policies) -> None:
    # Monday 28 September 2026: 1 to 7 October are days off, Saturday 10 October is worked.
    assert due(shipped, "CN", at("2026-09-28")) == at("2026-10-23")


def test_the_pipl_service_level_counts_chinese_working_days_across_the_spring_festival(
    shipped: Policies,
) -> None:
    # Friday 13 February 2026: Saturday 14 February is worked, 15 to 23 February are days off.
    assert due(shipped, "CN", at("2026-02-13")) == at("2026-03-12")
    assert extended(shipped, "CN", at("2026-02-13")) is None


def test_the_pipl_deadline_is_the_shops_commitment_in_its_own_words(shipped: Policies) -> None:
    pipl = shipped.jurisdiction_for("CN")
    assert pipl.deadline.describe() == "15 working days"
    assert pipl.deadline_note is not None
    assert "shop's own commitment" in pipl.deadline_note
    assert "Art. 50" in pipl.deadline_note


# Default: 30 calendar days, no extension, no acknowledgement rule.


@pytest.mark.parametrize("country", ["JP", "US", None])
def test_the_default_gives_30_calendar_days_and_nothing_else(shipped: Policies, country: str | None) -> None:
    received = at("2026-01-31")
    assert due(shipped, country, received) == at("2026-03-02")
    assert extended(shipped, country, received) is None
    assert acknowledge_by(shipped, country, received) is None
    assert refusal(shipped, country, received, now=received) is ExtensionRefusal.NO_EXTENSION_IN_LAW


def test_no_extension_in_law_is_the_reason_even_after_the_period(shipped: Policies) -> None:
    received = at("2026-01-31")
    late = at("2026-06-01")
    assert refusal(shipped, "BR", received, now=late, already=True) is ExtensionRefusal.NO_EXTENSION_IN_LAW


@pytest.mark.parametrize("reason", list(ExtensionRefusal))
def test_every_refusal_reads_as_a_sentence_naming_no_one(reason: ExtensionRefusal) -> None:
    assert reason.detail
    assert reason.detail[0].islower()
    assert str(reason) in {"already_extended", "first_period_over", "no_extension_in_law"}


def test_moments_without_a_timezone_are_refused(shipped: Policies) -> None:
    gdpr = shipped.jurisdiction_for("DE")
    with pytest.raises(ValueError, match="timezone-aware"):
        shipped.due_at(received_at=datetime(2026, 1, 31), jurisdiction=gdpr, country="DE")  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        shipped.extension_refusal(
            first_due_at=at("2026-03-02"),
            jurisdiction=gdpr,
            extended=False,
            now=datetime(2026, 2, 1),  # noqa: DTZ001
        )


@pytest.mark.parametrize(("country", "listed"), [("US-CA", "US-CA"), ("US-NY", "US"), ("de-by", "DE")])
def test_a_subdivision_uses_its_own_list_else_its_countrys(
    shipped: Policies, country: str, listed: str
) -> None:
    assert shipped.holidays_for(country).country == listed


def test_california_has_its_own_list_without_the_federal_columbus_day(shipped: Policies) -> None:
    columbus_day = datetime(2026, 10, 12).date()  # noqa: DTZ001
    assert not shipped.holidays_for("US").is_working_day(columbus_day)
    assert shipped.holidays_for("US-CA").is_working_day(columbus_day)
