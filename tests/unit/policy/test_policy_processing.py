"""processing.yaml and the remedies: loaded, checked across files, and their gaps warned about by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_service.policy import (
    LegalBasis,
    Policies,
    PolicyError,
    PolicyProblem,
    RecipientRole,
    Right,
    TransferMechanism,
    TransferStatus,
    load_policies,
)
from tests.unit.policy.samples import ENVIRON, PROCESSING, REMEDIES, RETENTION, SYSTEMS, PolicyDir

SHIPPED = Path(__file__).resolve().parents[3] / "policies"

CN_RECIPIENT = "    transfer: [sccs, pipl_standard_contract]\n"


@pytest.fixture(scope="module")
def shipped() -> Policies:
    return load_policies(SHIPPED, environ={})


def problems_of(directory: Path) -> list[PolicyProblem]:
    with pytest.raises(PolicyError) as raised:
        load_policies(directory, environ=ENVIRON)
    return raised.value.problems


def located(problems: tuple[PolicyProblem, ...] | list[PolicyProblem]) -> list[tuple[str, int | None, str]]:
    return [(problem.file.name, problem.line, problem.message) for problem in problems]


def test_the_shipped_processing_loads_without_a_warning(shipped: Policies) -> None:
    assert shipped.warnings == ()
    record = shipped.processing
    assert record.controller.name
    assert record.controller.dpo is not None
    assert {category.code for category in record.categories} >= {
        "profile",
        "orders",
        "invoices",
        "consent",
        "login_history",
        "support",
    }
    assert {purpose.legal_basis for purpose in record.purposes} >= {
        LegalBasis.CONTRACT,
        LegalBasis.LEGAL_OBLIGATION,
        LegalBasis.CONSENT,
    }


def test_the_shipped_recipients_are_a_mailer_an_eu_payment_provider_and_a_chinese_partner(
    shipped: Policies,
) -> None:
    record = shipped.processing
    by_status = {recipient.name: record.transfer_to(recipient) for recipient in record.recipients}
    assert by_status["mailer"].status is TransferStatus.WITHIN_EEA
    assert by_status["payments"].status is TransferStatus.WITHIN_EEA
    chinese = by_status["fulfilment-cn"]
    assert chinese.status is TransferStatus.APPROPRIATE_SAFEGUARDS
    assert chinese.mechanisms == (TransferMechanism.SCCS, TransferMechanism.PIPL_STANDARD_CONTRACT)
    assert record.recipient("payments").role is RecipientRole.CONTROLLER  # type: ignore[union-attr]


def test_the_shipped_retention_categories_are_all_described(shipped: Policies) -> None:
    for rule in shipped.retention:
        assert shipped.processing.category(rule.category) is not None, rule.category


def test_the_shipped_adequacy_list_names_the_decisions_in_force(shipped: Policies) -> None:
    adequacy = shipped.processing.transfers.adequacy
    assert set(adequacy) == {
        "AD", "AR", "BR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "US", "UY",
    }  # fmt: skip
    assert "Data Privacy Framework" in str(adequacy["US"].scope)
    assert adequacy["CA"].scope is not None
    assert adequacy["JP"].scope is None


def test_every_shipped_jurisdiction_has_its_own_remedies(shipped: Policies) -> None:
    for jurisdiction in (*shipped.jurisdictions, shipped.default):
        remedies = shipped.remedies_for(jurisdiction)
        assert remedies is not None
        assert remedies.jurisdiction == jurisdiction.code
        assert remedies.authorities
        assert Right.ACCESS in {held.right for held in remedies.rights}


def test_the_shipped_remedies_name_each_laws_authority(shipped: Policies) -> None:
    def authorities(country: str) -> list[str]:
        remedies = shipped.remedies_for(shipped.jurisdiction_for(country))
        assert remedies is not None
        return [authority.name for authority in remedies.authorities]

    assert "Information Commissioner's Office (ICO)" in authorities("GB")
    assert any("ANPD" in name for name in authorities("BR"))
    assert any("California Privacy Protection Agency" in name for name in authorities("US-CA"))
    assert any("Attorney General" in name for name in authorities("US-CA"))


def test_the_chinese_remedies_wait_in_their_own_file_until_the_jurisdiction_is_declared(
    shipped: Policies,
) -> None:
    assert "cn_pipl" in shipped.unused_remedies or "cn_pipl" in shipped.remedies


def test_a_third_country_recipient_without_a_safeguard_is_a_warning_naming_it(policy_dir: PolicyDir) -> None:
    policies = load_policies(policy_dir(processing=PROCESSING.replace(CN_RECIPIENT, "")), environ=ENVIRON)
    assert located(policies.warnings) == [
        (
            "processing.yaml",
            42,
            "recipients[1].transfer: recipient warehouse-cn in CN has no transfer safeguard: "
            "CN is outside the EU/EEA and has no adequacy decision; declare sccs, bcrs or derogation_49",
        )
    ]


@pytest.mark.parametrize(
    ("transfer", "country", "complaint"),
    [
        ("[pipl_standard_contract]", "CN", "the PIPL standard contract covers the export from China"),
        ("[adequacy]", "CN", "CN has no EU adequacy decision"),
        ("[]", "US", "US is adequate only for DPF-certified organisations"),
        ("[]", "US-NY", "US is adequate only for DPF-certified organisations"),
    ],
)
def test_a_transfer_resting_on_nothing_the_gdpr_accepts_is_a_warning(
    policy_dir: PolicyDir, transfer: str, country: str, complaint: str
) -> None:
    text = PROCESSING.replace(CN_RECIPIENT, f"    transfer: {transfer}\n").replace(
        "    country: CN\n", f"    country: {country}\n"
    )
    [warning] = load_policies(policy_dir(processing=text), environ=ENVIRON).warnings
    assert (warning.file.name, warning.line) == ("processing.yaml", 47)
    assert complaint in warning.message


@pytest.mark.parametrize(
    ("transfer", "country", "status"),
    [
        ("[adequacy]", "US", TransferStatus.ADEQUACY),
        ("[]", "CH", TransferStatus.ADEQUACY),
        ("[derogation_49]", "CN", TransferStatus.DEROGATION),
        ("[bcrs]", "CN", TransferStatus.APPROPRIATE_SAFEGUARDS),
        ("[]", "FR", TransferStatus.WITHIN_EEA),
        ("[]", "no", TransferStatus.WITHIN_EEA),
    ],
)
def test_a_transfer_with_a_ground_is_no_warning(
    policy_dir: PolicyDir, transfer: str, country: str, status: TransferStatus
) -> None:
    text = PROCESSING.replace(CN_RECIPIENT, f"    transfer: {transfer}\n").replace(
        "    country: CN\n", f'    country: "{country}"\n'
    )
    policies = load_policies(policy_dir(processing=text), environ=ENVIRON)
    assert policies.warnings == ()
    recipient = policies.processing.recipient("warehouse-cn")
    assert recipient is not None
    assert policies.processing.transfer_to(recipient).status is status


def test_a_category_used_but_not_described_is_a_warning_at_each_use(policy_dir: PolicyDir) -> None:
    processing = (
        PROCESSING.replace("categories: [orders]\n", "categories: [orders, phone_numbers]\n")
        .replace(
            "categories: [orders, invoices]\n    data_subjects",
            "categories: [orders, wishlists]\n    data_subjects",
        )
        .replace("[invoices, fraud_checks, tax_records]", "[invoices, fraud_checks]")
    )
    systems = SYSTEMS.replace("categories: [orders, invoices]", "categories: [orders, invoices, returns]")
    retention = RETENTION.replace("category: fraud_checks", "category: chargebacks")
    policies = load_policies(
        policy_dir(processing=processing, systems=systems, retention=retention), environ=ENVIRON
    )
    undescribed = "is not described in processing.yaml `categories`"
    assert located(policies.warnings) == [
        ("retention.yaml", 6, f"retention[1].category: category chargebacks {undescribed}"),
        ("systems.yaml", 6, f"systems[0].categories[2]: category returns {undescribed}"),
        ("processing.yaml", 9, f"purposes[0].categories[1]: category wishlists {undescribed}"),
        ("processing.yaml", 45, f"recipients[1].categories[1]: category phone_numbers {undescribed}"),
        ("processing.yaml", 32,
         "categories[3].code: category tax_records is used by no purpose "
         "(GDPR Art. 5(1)(b): each has a purpose)"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("broken", "line", "message"),
    [
        (("code: compliance", "code: selling"), 11,
         "purposes[1].code: purpose selling already declared at purposes[0]"),
        (("code: tax_records", "code: orders"), 32,
         "categories[3].code: category orders already declared at categories[0]"),
        (("name: warehouse-cn", "name: orders"), 42,
         "recipients[1].name: recipient orders already declared at recipients[0]"),
        (("{country: CH,", "{country: FR,"), 52,
         "transfers.adequacy[0].country: FR is in the EEA: no adequacy needed"),
        (('eea: [DE, FR, "NO"]', "eea: [DE, FR, de]"), 50,
         "transfers.eea[2]: country DE already declared at transfers.eea[0]"),
        ((CN_RECIPIENT, CN_RECIPIENT + "    purposes: [selling, marketing]\n"), 48,
         "recipients[1].purposes[1]: no purpose marketing in `purposes`"),
        (("code: contract", "code: contractual"), 8,
         "purposes[0].legal_basis.code: Input should be 'consent',"),
        (("privacy@sample.example", "privacy at sample"), 4, "controller.email: must be an email address"),
        (("{period: 3 years}", "{}"), 21, "categories[0].retention: needs a period, criteria, or both"),
        (("role: processor\n    categories: [orders]", "role: seller\n    categories: [orders]"), 44,
         "recipients[1].role: Input should be 'controller' or 'processor'"),
        ((CN_RECIPIENT, "    transfer: [privacy_shield]\n"), 47,
         "recipients[1].transfer[0]: Input should be"),
        (('eea: [DE, FR, "NO"]', 'eea: [DE, FR, "NO", US-CA]'), 50,
         "transfers.eea[3]: must be an ISO 3166-1 country code"),
        (("automated_decisions: []\n", ""), 1, "automated_decisions: required key missing"),
    ],
)  # fmt: skip
def test_a_bad_processing_entry_is_an_error_at_its_line(
    policy_dir: PolicyDir, broken: tuple[str, str], line: int, message: str
) -> None:
    old, new = broken
    assert old in PROCESSING
    [problem] = problems_of(policy_dir(processing=PROCESSING.replace(old, new, 1)))
    assert (problem.file.name, problem.line) == ("processing.yaml", line)
    assert problem.message.startswith(message), problem.message


def test_remedies_for_a_jurisdiction_that_does_not_exist_are_an_error_at_their_line(
    policy_dir: PolicyDir,
) -> None:
    [problem] = problems_of(policy_dir(remedies=REMEDIES.replace("  us_federal:", "  us_fedral:")))
    assert (problem.file.name, problem.line, problem.message) == (
        "remedies.yaml",
        18,
        "remedies.us_fedral: no jurisdiction us_fedral in jurisdictions.yaml",
    )


def test_a_jurisdiction_without_remedies_is_a_warning_and_gets_the_defaults(policy_dir: PolicyDir) -> None:
    without = REMEDIES[: REMEDIES.index("  us_federal:")] + REMEDIES[REMEDIES.index("  default:") :]
    policies = load_policies(policy_dir(remedies=without), environ=ENVIRON)
    assert located(policies.warnings) == [
        (
            "remedies.yaml",
            1,
            "remedies: jurisdiction us_federal has no rights and remedies here; "
            "its subjects are told the default's",
        )
    ]
    remedies = policies.remedies_for(policies.jurisdiction_for("US-NY"))
    assert remedies is not None
    assert remedies.jurisdiction == "default"


def test_a_right_listed_twice_for_one_law_is_an_error(policy_dir: PolicyDir) -> None:
    twice = REMEDIES.replace(
        "{right: erasure, name: Right to erasure", "{right: access, name: Right to erasure"
    )
    [problem] = problems_of(policy_dir(remedies=twice))
    assert (problem.file.name, problem.line, problem.message) == (
        "remedies.yaml",
        5,
        "remedies.eu_gdpr.rights[1].right: access is already listed at rights[0]",
    )


def test_optional_remedies_are_used_once_their_jurisdiction_is_declared(policy_dir: PolicyDir) -> None:
    optional = REMEDIES.replace("  us_federal:", "  cn_pipl:").split("  default:")[0]
    optional = "remedies:\n" + optional[optional.index("  cn_pipl:") :]
    without_us_federal = (
        REMEDIES[: REMEDIES.index("  us_federal:")] + REMEDIES[REMEDIES.index("  default:") :]
    )
    directory = policy_dir(
        remedies=without_us_federal, remedies_optional=optional.replace("cn_pipl", "us_federal")
    )
    policies = load_policies(directory, environ=ENVIRON)
    assert policies.warnings == ()
    assert policies.unused_remedies == ()
    assert policies.remedies["us_federal"].authorities[0].name == "FTC"

    directory = policy_dir(remedies_optional=optional)
    policies = load_policies(directory, environ=ENVIRON)
    assert policies.unused_remedies == ("cn_pipl",)
    assert "cn_pipl" not in policies.remedies
    assert policies.warnings == ()


def test_a_law_with_remedies_in_both_files_is_an_error(policy_dir: PolicyDir) -> None:
    optional = "remedies:\n" + REMEDIES[REMEDIES.index("  default:") :]
    [problem] = problems_of(policy_dir(remedies_optional=optional))
    assert (problem.file.name, problem.line, problem.message) == (
        "remedies_optional.yaml",
        2,
        "remedies.default: default already has remedies in remedies.yaml",
    )


@pytest.mark.parametrize("name", ["processing", "remedies"])
def test_the_processing_and_remedies_files_are_required(policy_dir: PolicyDir, name: str) -> None:
    directory = policy_dir()
    (directory / f"{name}.yaml").unlink()
    assert located(problems_of(directory)) == [(f"{name}.yaml", None, "file missing")]


def test_an_authority_needs_a_web_address(policy_dir: PolicyDir) -> None:
    [problem] = problems_of(
        policy_dir(remedies=REMEDIES.replace('url: "https://ftc.example"', "url: ftc.gov"))
    )
    assert (problem.file.name, problem.line) == ("remedies.yaml", 22)
    assert problem.message.startswith("remedies.us_federal.authorities[0].url: must be an absolute https://")
