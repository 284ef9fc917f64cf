"""`policies explain` shows how each law counts: working days, the holidays used, the acknowledgement."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from privacy_service.policy import Policies, RequestType, load_policies

SHIPPED = Path(__file__).resolve().parents[3] / "policies"


@pytest.fixture(scope="module")
def shipped() -> Policies:
    return load_policies(SHIPPED, environ={})


def explained(policies: Policies, country: str, received: datetime | None) -> tuple[str, dict[str, object]]:
    explanation = policies.explain(country=country, request_type=RequestType.ACCESS, received_at=received)
    return "\n".join(explanation.render()), explanation.to_json()


def test_a_gdpr_request_shows_the_working_day_rule_and_the_holidays_it_crosses(shipped: Policies) -> None:
    text, document = explained(shipped, "DE", datetime(2026, 3, 3, 10, tzinfo=UTC))
    assert "deadline: 1 month (due 2026-04-07T10:00:00Z if received now)" in text
    assert "a period ending on any other day ends on the next working day" in text
    assert "public holidays: the DE list in policies/holidays.yaml (2026 to 2028)" in text
    assert "2026-04-03 Good Friday; 2026-04-06 Easter Monday" in text
    assert "acknowledgement: no time set by this law" in text
    assert document["roll_to_working_day"] is True
    assert document["due_at"] == "2026-04-07T10:00:00Z"
    holidays = document["holidays"]
    assert isinstance(holidays, dict)
    assert (holidays["counted"], holidays["list"], holidays["years"]) == (True, "DE", [2026, 2027, 2028])
    assert {"date": "2026-04-06", "name": "Easter Monday"} in holidays["within_period"]


def test_a_french_subject_under_the_same_law_is_shown_the_french_holidays(shipped: Policies) -> None:
    text, document = explained(shipped, "FR", datetime(2026, 3, 3, 10, tzinfo=UTC))
    assert "(due 2026-04-03T10:00:00Z if received now)" in text
    assert "Good Friday" not in text
    assert document["holidays"]["list"] == "FR"  # type: ignore[index]


def test_a_member_state_without_a_list_is_told_only_weekends_count(shipped: Policies) -> None:
    text, document = explained(shipped, "AT", datetime(2026, 3, 3, 10, tzinfo=UTC))
    assert "public holidays: none listed for AT in policies/holidays.yaml; weekends only" in text
    assert document["holidays"]["list"] is None  # type: ignore[index]


def test_the_ccpa_shows_its_acknowledgement_in_business_days(shipped: Policies) -> None:
    text, document = explained(shipped, "US-CA", datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert "acknowledgement: within 10 business days (by 2026-12-08T10:00:00Z if received now)" in text
    assert "periods in calendar days end on their own day, weekend or not" in text
    assert "2026-11-26 Thanksgiving Day; 2026-11-27 Day after Thanksgiving" in text
    assert "Christmas" not in text  # past the acknowledgement, the only period counted in business days
    assert (document["acknowledge_within"], document["acknowledge_by"]) == (
        "10 business days",
        "2026-12-08T10:00:00Z",
    )
    assert document["deadline"] == "45 days"


def test_the_lgpd_confirms_at_once_and_counts_no_working_days(shipped: Policies) -> None:
    received = datetime(2026, 1, 31, 10, tzinfo=UTC)
    text, document = explained(shipped, "BR", received)
    assert "acknowledgement: at once; the service acknowledges every request when it is received" in text
    assert "working days: not counted" in text
    assert "public holidays: not used by this law's periods" in text
    assert (document["acknowledge_within"], document["acknowledge_by"]) == ("at once", "2026-01-31T10:00:00Z")
    assert document["holidays"]["counted"] is False  # type: ignore[index]


def test_the_pipl_shows_its_note_and_the_chinese_holidays_and_weekend_days_worked(shipped: Policies) -> None:
    text, document = explained(shipped, "CN", datetime(2026, 9, 28, 10, tzinfo=UTC))
    assert "deadline: 15 working days (due 2026-10-23T10:00:00Z if received now)" in text
    assert "deadline note: the shop's own commitment" in text
    assert "2026-10-01 National Day" in text
    assert "worked although a weekend day: 2026-10-10 worked for the National Day holiday" in text
    assert "extension: none" in text
    assert document["deadline_note"] is not None
    assert document["holidays"]["working_weekend_days_within_period"] == [  # type: ignore[index]
        {"date": "2026-10-10", "name": "worked for the National Day holiday"}
    ]


def test_a_period_past_the_end_of_the_lists_is_flagged(shipped: Policies) -> None:
    text, _ = explained(shipped, "DE", datetime(2028, 12, 1, 10, tzinfo=UTC))
    assert "beware: the list ends with 2028; after it, only weekends are skipped" in text


def test_without_a_time_the_rule_is_shown_without_dates(shipped: Policies) -> None:
    text, document = explained(shipped, "US-CA", None)
    assert "acknowledgement: within 10 business days; the service" in text
    assert "public holidays: the US-CA list in policies/holidays.yaml (2026 to 2028)" in text
    assert "within this request's period" not in text
    assert document["acknowledge_by"] is None
    assert document["holidays"]["within_period"] == []  # type: ignore[index]
