"""The Art. 15 information of an access answer, drawn from the policies for one subject."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from privacy_service.policy import Policies, article15_information, load_policies
from tests.unit.policy.samples import ENVIRON, PROCESSING, REMEDIES, PolicyDir

SHIPPED = Path(__file__).resolve().parents[3] / "policies"

# The systems holding a German customer's data: the Chinese partner (declared) and the shop's own
# order system (not described in processing.yaml).
HOLDING = {"fulfilment-cn": ["profile", "orders"], "orders": ["orders", "invoices", "gift_cards"]}


@pytest.fixture(scope="module")
def shipped() -> Policies:
    return load_policies(SHIPPED, environ={})


def document_for(
    policies: Policies, *, jurisdiction: str, country: str, systems: dict[str, list[str]]
) -> dict[str, Any]:
    """The document after a JSON round trip, which it survives unchanged (it is JSON-ready)."""
    document = article15_information(policies, jurisdiction=jurisdiction, country=country, systems=systems)
    copy: dict[str, Any] = json.loads(json.dumps(document))
    assert copy == document
    return copy


@pytest.fixture(scope="module")
def german(shipped: Policies) -> dict[str, Any]:
    return document_for(shipped, jurisdiction="eu_gdpr", country="DE", systems=HOLDING)


def by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_the_chinese_recipient_of_a_german_customer_rests_on_sccs_and_the_pipl_contract(
    german: dict[str, Any],
) -> None:
    chinese = by(german["recipients"], "name")["fulfilment-cn"]
    assert chinese["country"] == "CN"
    assert chinese["role"] == "processor"
    assert chinese["holds_data"] is True
    assert chinese["transfer"] == {
        "status": "appropriate_safeguards",
        "third_country": True,
        "mechanisms": ["sccs", "pipl_standard_contract"],
        "adequacy_decision": None,
    }


def test_an_eu_recipient_needs_no_safeguard(german: dict[str, Any]) -> None:
    mailer = by(german["recipients"], "name")["mailer"]
    assert mailer["country"] == "DE"
    assert mailer["holds_data"] is False
    assert mailer["transfer"] == {
        "status": "within_eea",
        "third_country": False,
        "mechanisms": [],
        "adequacy_decision": None,
    }


def test_a_system_holding_data_but_not_described_is_listed_with_its_country_unknown(
    german: dict[str, Any],
) -> None:
    orders = by(german["recipients"], "name")["orders"]
    assert orders["country"] is None
    assert orders["role"] is None
    assert orders["categories"] == ["orders", "invoices", "gift_cards"]
    assert orders["transfer"]["status"] == "unknown_country"
    assert orders["transfer"]["third_country"] is None
    assert "its country" in orders["note"]
    assert "unknown" in orders["note"]
    assert [recipient["name"] for recipient in german["recipients"]] == [
        "mailer",
        "payments",
        "fulfilment-cn",
        "orders",
    ]


def test_the_authority_and_remedies_are_the_jurisdictions(german: dict[str, Any]) -> None:
    remedies = german["remedies"]
    assert remedies["jurisdiction"] == "eu_gdpr"
    assert "GDPR Art. 77" in remedies["complaint"]
    assert "Art. 79" in remedies["courts"]
    [lead, own] = remedies["authorities"]
    assert lead["name"].startswith("Berliner Beauftragte")
    assert lead["address"] == "Alt-Moabit 59-61, 10555 Berlin, Germany"
    assert lead["url"].startswith("https://")
    assert "Art. 77" in own["role"]
    rights = by(german["rights"], "right")
    assert rights["access"]["provision"] == "GDPR Art. 15"
    assert {
        "rectification",
        "erasure",
        "restriction",
        "portability",
        "objection",
        "automated_decision",
    } <= set(rights)
    assert german["jurisdiction"]["code"] == "eu_gdpr"


def test_retention_follows_the_german_law_with_its_legal_basis(german: dict[str, Any]) -> None:
    categories = by(german["categories"], "code")
    invoices = categories["invoices"]["retention"]
    [obligation] = invoices["legal_obligations"]
    assert obligation["keep_for"] == "8 years"
    assert "HGB §257" in obligation["legal_basis"]
    assert obligation["countries"] == ["DE"]
    assert invoices["criteria"]
    orders = categories["orders"]["retention"]
    assert (orders["period"], orders["legal_obligations"]) == ("3 years", [])


def test_each_category_says_where_it_came_from_and_who_holds_it(german: dict[str, Any]) -> None:
    categories = by(german["categories"], "code")
    assert categories["profile"]["source"] == {"from_subject": True, "name": None}
    assert categories["profile"]["provided_by_subject"] is True
    assert categories["payments"]["source"] == {"from_subject": False, "name": "the payment provider"}
    assert categories["orders"]["held_by"] == ["fulfilment-cn", "orders"]
    assert categories["consent"]["held_by"] == []
    gift_cards = categories["gift_cards"]
    assert (gift_cards["described"], gift_cards["description"], gift_cards["source"]) == (False, None, None)
    assert german["categories"][-1]["code"] == "gift_cards"


def test_purposes_carry_their_legal_basis_and_there_is_no_automated_decision(german: dict[str, Any]) -> None:
    purposes = by(german["purposes"], "code")
    assert purposes["order_fulfilment"]["legal_basis"]["code"] == "contract"
    assert purposes["order_fulfilment"]["legal_basis"]["provision"] == "GDPR Art. 6(1)(b)"
    assert purposes["newsletter"]["legal_basis"]["provision"] == "GDPR Art. 6(1)(a)"
    assert purposes["accounting"]["legal_basis"]["text"]
    assert german["automated_decisions"] == []
    assert german["controller"]["name"] == "Example Shop GmbH"
    assert german["controller"]["dpo"]["email"] == "dpo@shop.example"
    assert german["controller"]["eu_representative"] is None


def test_a_californian_is_told_the_ccpas_rights_and_both_enforcers(shipped: Policies) -> None:
    document = document_for(shipped, jurisdiction="us_ca_ccpa", country="US-CA", systems={})
    rights = by(document["rights"], "right")
    assert rights["access"]["name"].startswith("Right to know")
    assert rights["erasure"]["name"] == "Right to delete personal information"
    assert rights["rectification"]["name"] == "Right to correct inaccurate personal information"
    assert "opt_out" in rights
    remedies = document["remedies"]
    assert [authority["name"] for authority in remedies["authorities"]] == [
        "California Privacy Protection Agency (CalPrivacy)",
        "California Attorney General, Department of Justice",
    ]
    invoices = by(document["categories"], "code")["invoices"]
    assert invoices["retention"]["legal_obligations"] == []


def test_a_brazilian_is_told_the_lgpd_rights_and_the_anpd(shipped: Policies) -> None:
    document = document_for(shipped, jurisdiction="br_lgpd", country="BR", systems={})
    rights = by(document["rights"], "right")
    assert rights["confirmation"]["provision"] == "LGPD Art. 18, I"
    remedies = document["remedies"]
    assert "ANPD" in remedies["authorities"][0]["name"]


def test_a_request_under_a_law_the_policies_no_longer_declare_follows_the_countrys_law_today(
    shipped: Policies,
) -> None:
    document = document_for(shipped, jurisdiction="withdrawn_law", country="GB", systems={})
    assert document["jurisdiction"] == {
        "code": "uk_gdpr",
        "name": "United Kingdom — UK GDPR",
        "law": "UK GDPR, Art. 12(3), and the Data Protection Act 2018",
    }
    remedies = document["remedies"]
    assert remedies["jurisdiction"] == "uk_gdpr"


def test_a_law_without_remedies_of_its_own_is_answered_with_the_defaults(policy_dir: PolicyDir) -> None:
    without = REMEDIES[: REMEDIES.index("  us_federal:")] + REMEDIES[REMEDIES.index("  default:") :]
    policies = load_policies(policy_dir(remedies=without), environ=ENVIRON)
    document = document_for(policies, jurisdiction="us_federal", country="US-NY", systems={})
    assert document["jurisdiction"]["code"] == "us_federal"
    remedies = document["remedies"]
    assert remedies["jurisdiction"] == "default"
    assert document["rights"] == [
        {"right": "access", "name": "Right of access", "provision": "the shop's standard"}
    ]


def test_the_sample_policies_give_a_declared_system_its_held_categories(policy_dir: PolicyDir) -> None:
    policies = load_policies(policy_dir(), environ=ENVIRON)
    document = document_for(
        policies, jurisdiction="eu_gdpr", country="FR", systems={"orders": ["orders", "fraud_checks"]}
    )
    recipients = by(document["recipients"], "name")
    assert recipients["orders"]["categories"] == ["orders", "invoices", "fraud_checks"]
    assert recipients["orders"]["holds_data"] is True
    assert recipients["warehouse-cn"]["holds_data"] is False
    fraud_checks = by(document["categories"], "code")["fraud_checks"]
    assert fraud_checks["retention"] == {
        "period": "1 year",
        "criteria": "after the order",
        "legal_obligations": [{"keep_for": "1 year", "legal_basis": "everywhere", "countries": []}],
    }


def test_without_remedies_for_the_law_or_the_default_the_document_says_none(policy_dir: PolicyDir) -> None:
    only_eu = REMEDIES[: REMEDIES.index("  us_ca_ccpa:")]
    policies = load_policies(policy_dir(remedies=only_eu), environ=ENVIRON)
    assert [warning.message.split(";")[0] for warning in policies.warnings] == [
        "remedies: jurisdiction us_ca_ccpa has no rights and remedies here",
        "remedies: jurisdiction us_federal has no rights and remedies here",
        "remedies: jurisdiction default has no rights and remedies here",
    ]
    document = document_for(policies, jurisdiction="default", country="JP", systems={})
    assert (document["rights"], document["remedies"]) == ([], None)


def test_an_automated_decision_is_explained_with_its_logic_and_consequences(policy_dir: PolicyDir) -> None:
    decision = (
        "automated_decisions:\n"
        "  - code: fraud_screening\n"
        "    logic: A score from the amount and the address.\n"
        "    significance: An order above the threshold is refused.\n"
        "    consequences: The order cannot be completed; a person reviews it on request.\n"
        "    categories: [orders, fraud_checks]\n"
    )
    policies = load_policies(
        policy_dir(processing=PROCESSING.replace("automated_decisions: []\n", decision)), environ=ENVIRON
    )
    assert policies.warnings == ()
    document = document_for(policies, jurisdiction="eu_gdpr", country="DE", systems={})
    assert document["automated_decisions"] == [
        {
            "code": "fraud_screening",
            "logic": "A score from the amount and the address.",
            "significance": "An order above the threshold is refused.",
            "consequences": "The order cannot be completed; a person reviews it on request.",
            "categories": ["orders", "fraud_checks"],
        }
    ]
