"""What the policies answer: jurisdiction by country, due dates, approval, retention, systems."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from privacy_service.policy import Policies, RequestType, SystemRequestType, load_policies
from tests.unit.policy.samples import ENVIRON, WEBHOOK_SECRET, PolicyDir

SHIPPED = Path(__file__).resolve().parents[3] / "policies"
RECEIVED = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def shipped() -> Policies:
    return load_policies(SHIPPED, environ={})


@pytest.fixture
def policies(policy_dir: PolicyDir) -> Policies:
    return load_policies(policy_dir(), environ=ENVIRON)


def test_the_shipped_policies_load_without_any_environment(shipped: Policies) -> None:
    assert {item.code for item in shipped.jurisdictions} >= {
        "eu_gdpr",
        "uk_gdpr",
        "br_lgpd",
        "us_ca_ccpa",
        "cn_pipl",
    }
    assert shipped.default.code == "default"
    assert shipped.systems == ()
    assert shipped.source == SHIPPED


def test_the_shipped_gdpr_covers_the_27_member_states_and_the_eea(shipped: Policies) -> None:
    gdpr = shipped.jurisdiction_for("DE")
    assert len(gdpr.countries) == 30
    assert {"IS", "LI", "NO"} <= gdpr.countries


def test_the_shipped_policies_ask_no_approval_anywhere(shipped: Policies) -> None:
    for jurisdiction in (*shipped.jurisdictions, shipped.default):
        for request_type in RequestType:
            assert not shipped.needs_approval(jurisdiction=jurisdiction, request_type=request_type)


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("DE", "eu_gdpr"),
        ("de", "eu_gdpr"),
        ("NO", "eu_gdpr"),
        ("GB", "uk_gdpr"),
        ("BR", "br_lgpd"),
        ("US-CA", "us_ca_ccpa"),
        ("us-ca", "us_ca_ccpa"),
        ("CN", "cn_pipl"),
        (" US-CA ", "us_ca_ccpa"),
        ("US", "default"),
        ("US-NY", "default"),
        ("JP", "default"),
        ("", "default"),
        (None, "default"),
    ],
)
def test_the_shipped_jurisdiction_follows_the_country(
    shipped: Policies, country: str | None, code: str
) -> None:
    assert shipped.jurisdiction_for(country).code == code


@pytest.mark.parametrize(
    ("country", "due"),
    [
        ("DE", datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),  # 28 February is a Saturday: the Monday after
        ("GB", datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
        ("BR", datetime(2026, 2, 15, 10, 0, tzinfo=UTC)),  # a Sunday, but the LGPD counts calendar days
        ("US-CA", datetime(2026, 3, 17, 10, 0, tzinfo=UTC)),
        ("JP", datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
        ("CN", datetime(2026, 2, 27, 10, 0, tzinfo=UTC)),  # working days: Sat 14 Feb in, 15-23 Feb out
    ],
)
def test_the_shipped_due_date_follows_the_law(shipped: Policies, country: str, due: datetime) -> None:
    jurisdiction = shipped.jurisdiction_for(country)
    assert shipped.due_at(received_at=RECEIVED, jurisdiction=jurisdiction, country=country) == due


def test_the_shipped_extensions_follow_the_law(shipped: Policies) -> None:
    assert shipped.jurisdiction_for("DE").extension is not None
    assert shipped.jurisdiction_for("DE").extension.describe() == "2 months"  # type: ignore[union-attr]
    assert shipped.jurisdiction_for("US-CA").extension.describe() == "45 days"  # type: ignore[union-attr]
    assert shipped.jurisdiction_for("BR").extension is None
    assert shipped.default.extension is None


def test_the_shipped_retention_keeps_german_invoices_with_their_legal_basis(shipped: Policies) -> None:
    [invoices] = shipped.retention_for(country="DE", categories=["invoices"])
    assert "HGB §257" in invoices.legal_basis
    assert "AO §147" in invoices.legal_basis
    assert all(rule.legal_basis for rule in shipped.retention)


def test_a_subdivision_falls_back_to_its_country(policies: Policies) -> None:
    assert policies.jurisdiction_for("US-CA").code == "us_ca_ccpa"
    assert policies.jurisdiction_for("US-NY").code == "us_federal"
    assert policies.jurisdiction_for("us").code == "us_federal"


def test_approval_is_asked_per_jurisdiction_and_request_type(policies: Policies) -> None:
    gdpr = policies.jurisdiction_for("FR")
    assert policies.needs_approval(jurisdiction=gdpr, request_type=RequestType.ERASURE)
    assert not policies.needs_approval(jurisdiction=gdpr, request_type=RequestType.ACCESS)
    ccpa = policies.jurisdiction_for("US-CA")
    assert not policies.needs_approval(jurisdiction=ccpa, request_type=RequestType.ERASURE)


def test_retention_applies_by_country_and_everywhere(policies: Policies) -> None:
    assert [rule.category for rule in policies.retention_for(country="DE")] == ["invoices", "fraud_checks"]
    assert [rule.category for rule in policies.retention_for(country="fr")] == ["fraud_checks"]
    assert [rule.category for rule in policies.retention_for(country=None)] == ["fraud_checks"]
    assert [rule.category for rule in policies.retention_for(country="US-CA")] == [
        "fraud_checks",
        "tax_records",
    ]


def test_retention_can_be_narrowed_to_categories(policies: Policies) -> None:
    assert [rule.category for rule in policies.retention_for(country="DE", categories=["invoices"])] == [
        "invoices"
    ]
    assert policies.retention_for(country="DE", categories=[]) == []
    [invoices] = policies.retention_for(country="DE", categories={"invoices", "orders"})
    assert invoices.keep_for.describe() == "8 years"


def test_systems_are_chosen_by_request_type_with_their_secret_from_the_environment(
    policies: Policies,
) -> None:
    [orders] = policies.systems_for(SystemRequestType.ERASURE)
    assert orders.name == "orders"
    assert orders.secret == WEBHOOK_SECRET
    assert orders.categories == ("orders", "invoices")
    assert orders.timeout_seconds == 10
    [mailer] = policies.systems_for(SystemRequestType.NOTICE)
    assert (mailer.name, mailer.timeout_seconds) == ("mailer", 3)
    assert WEBHOOK_SECRET not in repr(mailer)


def test_explain_says_what_would_happen_to_an_erasure(policies: Policies) -> None:
    explanation = policies.explain(country="de", request_type=RequestType.ERASURE, received_at=RECEIVED)
    assert explanation.jurisdiction.code == "eu_gdpr"
    assert explanation.needs_approval
    assert explanation.systems == ("orders",)
    assert explanation.notice_systems == ("mailer",)
    assert explanation.due_at == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    assert explanation.latest_due_at == datetime(2026, 4, 28, 10, 0, tzinfo=UTC)
    document = explanation.to_json()
    assert document["country"] == "DE"
    assert document["due_at"] == "2026-02-28T10:00:00Z"
    assert document["retention"] == [
        {"category": "invoices", "countries": ["DE"], "keep_for": "8 years", "legal_basis": "HGB §257"},
        {"category": "fraud_checks", "countries": [], "keep_for": "1 year", "legal_basis": "everywhere"},
    ]
    text = "\n".join(explanation.render())
    assert "a compliance officer must approve" in text
    assert "invoices: 8 years; HGB §257" in text
    assert WEBHOOK_SECRET not in text
    assert WEBHOOK_SECRET not in str(document)


def test_explain_without_a_time_gives_no_due_date(policies: Policies) -> None:
    explanation = policies.explain(country="BR", request_type=RequestType.ACCESS)
    assert explanation.jurisdiction.code == "default"
    assert explanation.due_at is None
    assert explanation.to_json()["due_at"] is None
    assert "extension: none" in "\n".join(explanation.render())


def test_explain_refuses_a_time_without_timezone(policies: Policies) -> None:
    with pytest.raises(ValueError, match="timezone"):
        policies.explain(country="DE", request_type=RequestType.ACCESS, received_at=datetime(2026, 1, 1))  # noqa: DTZ001
