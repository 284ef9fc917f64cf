"""``privacy-service policies check`` with its warnings, and ``policies ropa``: the record of processing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from privacy_service.cli import cli
from privacy_service.policy.ropa import CSV_COLUMNS
from tests.unit.policy.samples import (
    ENVIRON,
    HOLIDAYS,
    JURISDICTIONS,
    PROCESSING,
    REMEDIES,
    RETENTION,
    SYSTEMS,
)

SHIPPED = Path(__file__).resolve().parents[3] / "policies"


def run(*arguments: str, environ: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["policies", *arguments], env=environ or {})


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """The small sample policies of tests/unit/policy, with the Chinese partner's safeguards left out."""
    directory = tmp_path / "policies"
    directory.mkdir()
    texts = {
        "jurisdictions": JURISDICTIONS,
        "holidays": HOLIDAYS,
        "retention": RETENTION,
        "systems": SYSTEMS,
        "processing": PROCESSING.replace("    transfer: [sccs, pipl_standard_contract]\n", ""),
        "remedies": REMEDIES,
    }
    for name, text in texts.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


def rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def test_the_shipped_record_is_markdown_with_every_part_art_30_asks_for() -> None:
    result = run("ropa", "--dir", str(SHIPPED))
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("# Record of processing activities\n")
    assert "| Name | Example Shop GmbH |" in text
    assert (
        "| Data protection officer | Data protection officer of Example Shop GmbH, dpo@shop.example |" in text
    )
    for purpose in ("customer_account", "order_fulfilment", "accounting", "newsletter", "customer_support"):
        assert f"\n### {purpose}\n" in text
    assert "- Legal basis: GDPR Art. 6(1)(c) (legal_obligation): Commercial and tax law" in text
    assert "- Categories of data subjects: newsletter subscribers" in text
    assert (
        "- Transfers to third countries: fulfilment-cn (CN): "
        "standard contractual clauses (GDPR Art. 46(2)(c)), PIPL standard contract (export from China)"
    ) in text
    assert "  - invoices: As long as commercial and tax law require" in text
    assert "DE: 8 years under HGB §257(1) no. 4" in text
    assert "| payments | Payment method type" in text
    assert "| the payment provider |" in text
    for measure in (
        "AES-256-GCM",
        "data key of its own for each data subject",
        "argon2id",
        "SHA-256 hashes",
        "TLS",
    ):
        assert measure in text
    assert "## Automated decisions (GDPR Art. 22)\n\nNone.\n" in text


def test_the_shipped_record_as_csv_has_one_row_per_purpose_in_stable_columns() -> None:
    result = run("ropa", "--format", "csv", "--dir", str(SHIPPED))
    assert result.exit_code == 0, result.output
    by_purpose = {row["purpose"]: row for row in rows(result.output)}
    assert list(by_purpose) == [
        "customer_account",
        "order_fulfilment",
        "accounting",
        "newsletter",
        "customer_support",
        "security",
    ]
    fulfilment = by_purpose["order_fulfilment"]
    assert fulfilment["legal_basis"] == "contract"
    assert fulfilment["legal_basis_provision"] == "GDPR Art. 6(1)(b)"
    assert fulfilment["data_categories"] == "profile; orders; payments"
    assert (
        fulfilment["recipients"]
        == "mailer (processor, DE); payments (controller, NL); fulfilment-cn (processor, CN)"
    )
    assert fulfilment["third_country_transfers"].startswith(
        "fulfilment-cn (CN): standard contractual clauses"
    )
    assert fulfilment["controller_contact"] == "privacy@shop.example"
    assert by_purpose["security"]["legal_basis_provision"] == "GDPR Art. 6(1)(f)"
    assert by_purpose["accounting"]["third_country_transfers"] == ""
    retention = by_purpose["accounting"]["retention"].splitlines()
    assert retention[0].startswith("invoices: As long as commercial and tax law require")
    assert "argon2id" in fulfilment["security_measures"]


def test_a_sample_record_names_a_transfer_without_a_safeguard(sample: Path) -> None:
    markdown = run("ropa", "--dir", str(sample), environ=ENVIRON)
    assert markdown.exit_code == 0, markdown.output
    assert (
        "- Transfers to third countries: warehouse-cn (CN): NO SAFEGUARD DECLARED "
        "(see `privacy-service policies check`)"
    ) in markdown.output
    assert "| orders | What was ordered. | the data subject | 3 years. |" in markdown.output
    assert (
        "  - invoices: as tax law requires. "
        "Kept longer where the law requires it: DE: 8 years under HGB §257." in markdown.output
    )

    [selling, compliance] = rows(run("ropa", "--format", "csv", "--dir", str(sample), environ=ENVIRON).output)
    assert (selling["purpose"], compliance["purpose"]) == ("selling", "compliance")
    assert selling["recipients"] == "orders (processor, DE); warehouse-cn (processor, CN)"
    assert compliance["recipients"] == "orders (processor, DE)"
    assert compliance["dpo"] == "none designated"
    assert compliance["retention"].splitlines()[1] == (
        "fraud_checks: 1 year. after the order. "
        "Kept longer where the law requires it: everywhere: 1 year under everywhere."
    )


def test_check_prints_warnings_with_file_and_line_and_still_succeeds(sample: Path) -> None:
    result = CliRunner().invoke(cli, ["policies", "check", "--dir", str(sample)], env=ENVIRON)
    assert result.exit_code == 0, result.stderr
    assert (
        "processing.yaml: 2 purposes, 4 data categories, 2 recipients (1 outside the EU/EEA)" in result.stdout
    )
    assert result.stderr == (
        f"privacy-service: policy warning: {sample / 'processing.yaml'}:42: recipients[1].transfer: "
        "recipient warehouse-cn in CN has no transfer safeguard: CN is outside the EU/EEA and has no "
        "adequacy decision; declare sccs, bcrs or derogation_49\n"
    )


def test_check_strict_fails_on_a_warning(sample: Path) -> None:
    result = CliRunner().invoke(cli, ["policies", "check", "--strict", "--dir", str(sample)], env=ENVIRON)
    assert result.exit_code == 1
    assert "policy warning:" in result.stderr


def test_check_strict_passes_the_shipped_policies() -> None:
    result = CliRunner().invoke(cli, ["policies", "check", "--strict", "--dir", str(SHIPPED)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "remedies.yaml: rights and remedies for" in result.stdout


def test_ropa_refuses_broken_policies_naming_file_and_line(sample: Path) -> None:
    (sample / "processing.yaml").write_text(
        PROCESSING.replace("code: contract", "code: contractual"), encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["policies", "ropa", "--dir", str(sample)], env=ENVIRON)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"privacy-service: policy error: {sample / 'processing.yaml'}:8: "
        "purposes[0].legal_basis.code: Input should be"
    )
    assert "Traceback" not in result.stderr


def test_ropa_refuses_an_unknown_format() -> None:
    result = run("ropa", "--format", "pdf", "--dir", str(SHIPPED))
    assert result.exit_code == 2
    assert "--format" in result.output


def test_the_record_shows_adequacy_automated_decisions_and_the_shops_own_measures(sample: Path) -> None:
    processing = PROCESSING.replace("    country: CN\n", "    country: CH\n").replace(
        "automated_decisions: []\n",
        "automated_decisions:\n"
        "  - code: fraud_screening\n"
        "    logic: A score from the amount and the address.\n"
        "    significance: An order above the threshold is refused.\n"
        "    consequences: The order cannot be completed.\n"
        "security_measures:\n"
        "  - Only the support team opens customer records.\n",
    )
    (sample / "processing.yaml").write_text(processing, encoding="utf-8")
    result = run("ropa", "--dir", str(sample), environ=ENVIRON)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "- Transfers to third countries: warehouse-cn (CH): adequacy decision: 2000/518/EC" in text
    assert (
        "- fraud_screening: A score from the amount and the address. Significance: An order above the "
        "threshold is refused. Consequences: The order cannot be completed."
    ) in text
    assert text.endswith("By the shop:\n\n- Only the support team opens customer records.\n")
