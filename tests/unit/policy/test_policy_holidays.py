"""holidays.yaml: each country's days off and weekend days worked; a bad or repeated date is named by line."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from privacy_service.policy import PolicyError, PolicyProblem, load_policies
from tests.unit.policy.samples import ENVIRON, HOLIDAYS, PolicyDir

SHIPPED = Path(__file__).resolve().parents[3] / "policies"


def problems_of(directory: Path) -> list[PolicyProblem]:
    with pytest.raises(PolicyError) as raised:
        load_policies(directory, environ=ENVIRON)
    return raised.value.problems


def only(problems: list[PolicyProblem]) -> PolicyProblem:
    assert len(problems) == 1, [str(problem) for problem in problems]
    return problems[0]


def test_each_country_gets_its_holidays_and_its_weekend_days_worked(policy_dir: PolicyDir) -> None:
    policies = load_policies(policy_dir(), environ=ENVIRON)
    germany = policies.holidays_for("de")
    assert germany.country == "DE"
    assert germany.holidays == {date(2026, 4, 3): "Good Friday", date(2026, 4, 6): "Easter Monday"}
    assert not germany.is_working_day(date(2026, 4, 3))
    assert germany.is_working_day(date(2026, 4, 7))
    china = policies.holidays_for("CN")
    assert china.is_working_day(date(2026, 10, 10))  # a Saturday, worked
    assert not china.is_working_day(date(2026, 10, 11))  # the Sunday after, not
    assert not china.is_working_day(date(2026, 10, 1))
    nowhere = policies.holidays_for("JP")
    assert nowhere.country is None
    assert nowhere.is_working_day(date(2026, 4, 3))
    assert not nowhere.is_working_day(date(2026, 4, 4))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            HOLIDAYS.replace("2026-04-06: Easter Monday", "2026-02-30: Easter Monday"),
            4,
            "holidays.DE.2026-02-30: 2026-02-30 is not a date on the calendar",
        ),
        (
            HOLIDAYS.replace("2026-04-06: Easter Monday", "2026-4-6: Easter Monday"),
            4,
            "holidays.DE.2026-4-6: must be a date written YYYY-MM-DD",
        ),
        (
            HOLIDAYS.replace("2026-04-06: Easter Monday", "Easter Monday: 2026-04-06"),
            4,
            "holidays.DE.Easter Monday: must be a date written YYYY-MM-DD",
        ),
        (
            HOLIDAYS.replace("2026-04-06: Easter Monday", "2026-04-03: Easter Monday"),
            4,
            "holidays.DE: 2026-04-03: key written twice (YAML keeps only the last)",
        ),
        (
            HOLIDAYS.replace("2026-04-06: Easter Monday", '"2026-04-03": Good Friday again'),
            4,
            "holidays.DE: 2026-04-03: key written twice (YAML keeps only the last)",
        ),
        (
            HOLIDAYS.replace("2026-04-06: Easter Monday", "2026-04-06:"),
            4,
            "holidays.DE.2026-04-06: Input should be a valid string",
        ),
        (
            HOLIDAYS.replace("  CN:\n    2026-10-01", "  Germany:\n    2026-10-01"),
            5,
            "holidays.Germany: must be an ISO 3166 country code",
        ),
        (
            HOLIDAYS.replace("  CN:\n    2026-10-01", "  de:\n    2026-10-01"),
            5,
            "holidays.de: DE is already listed as DE",
        ),
        (
            HOLIDAYS.replace("2026-10-10: worked", "2026-10-09: worked"),
            9,
            "working_weekend_days.CN.2026-10-09: Friday is not a weekend day",
        ),
        (
            HOLIDAYS.replace("2026-10-01: National Day", "2026-10-10: National Day"),
            9,
            "working_weekend_days.CN.2026-10-10: is also listed as a holiday: National Day",
        ),
        (HOLIDAYS.replace("working_weekend_days:", "worked_days:"), 7, "worked_days: unknown key"),
    ],
)  # fmt: skip
def test_a_bad_holiday_entry_is_reported_with_its_line(
    policy_dir: PolicyDir, text: str, line: int, message: str
) -> None:
    problem = only(problems_of(policy_dir(holidays=text)))
    assert (problem.file.name, problem.line) == ("holidays.yaml", line)
    assert problem.message.startswith(message)


def test_a_missing_holidays_file_is_reported(policy_dir: PolicyDir) -> None:
    directory = policy_dir()
    (directory / "holidays.yaml").unlink()
    problem = only(problems_of(directory))
    assert (problem.file.name, problem.line, problem.message) == ("holidays.yaml", None, "file missing")


def test_a_country_without_holidays_may_be_listed_empty(policy_dir: PolicyDir) -> None:
    policies = load_policies(policy_dir(holidays="holidays:\n  AT: {}\n"), environ=ENVIRON)
    assert policies.holidays_for("AT").country == "AT"
    assert policies.holidays_for("AT").years == ()


@pytest.mark.parametrize("country", ["DE", "FR", "GB", "IE", "BR", "US", "US-CA", "CN"])
def test_the_shipped_lists_cover_2026_to_2028(country: str) -> None:
    calendar = load_policies(SHIPPED, environ={}).holidays_for(country)
    assert calendar.country == country
    assert calendar.years == (2026, 2027, 2028)
    for year in calendar.years:
        assert date(year, 12, 25) in calendar.holidays or country == "CN"
        assert date(year, 1, 1) in calendar.holidays


#: Days after Easter Sunday that each shipped list holds: Good Friday, Easter Monday, Ascension, Whit Monday.
EASTER_DAYS = {"DE": (-2, 1, 39, 50), "FR": (1, 39, 50), "GB": (-2,), "IE": (1,), "BR": (-2,)}


@pytest.mark.parametrize("country", sorted(EASTER_DAYS))
@pytest.mark.parametrize("year", [2026, 2027, 2028])
def test_the_shipped_easter_holidays_follow_easter(country: str, year: int) -> None:
    listed = load_policies(SHIPPED, environ={}).holidays_for(country).holidays
    easter = _gregorian_easter(year)
    for offset in EASTER_DAYS[country]:
        assert easter + timedelta(days=offset) in listed


def test_the_computus_gives_the_known_easter_sundays() -> None:
    assert [_gregorian_easter(year) for year in (2024, 2025, 2026, 2027, 2028)] == [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
        date(2028, 4, 16),
    ]


def _gregorian_easter(year: int) -> date:
    """Easter Sunday by the anonymous Gregorian algorithm (Meeus, Astronomical Algorithms, ch. 8)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)
