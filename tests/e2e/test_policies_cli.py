"""`privacy-service policies check` and `explain`, run as an operator would."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import run_cli, service_environment

pytestmark = pytest.mark.e2e

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return service_environment(tmp_path / "data")


def test_check_accepts_the_shipped_policies(env: dict[str, str]) -> None:
    result = run_cli("policies", "check", "--strict", env=env)
    assert result.returncode == 0, result.stderr
    assert "policy warning" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("countries) and a default")
    assert "jurisdictions.yaml: " in lines[0]
    assert "retention.yaml: " in lines[1]
    assert lines[2].endswith("systems.yaml: 0 downstream systems")
    assert "holidays.yaml: public holidays of " in lines[3]
    assert "processing.yaml: 6 purposes, " in lines[4]
    assert "remedies.yaml: rights and remedies for " in lines[5]
    notices = next(line for line in lines[5:] if "notices: notices and the export's summary in " in line)
    assert "pt-BR" in notices


def test_check_names_file_line_and_problem_of_a_broken_directory(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "policies"
    shutil.copytree(SHIPPED, broken)
    jurisdictions = broken / "jurisdictions.yaml"
    lines = jurisdictions.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, 1) if line.strip() == "deadline: 15 days")
    lines[number - 1] = lines[number - 1].replace("15 days", "a fortnight")
    jurisdictions.write_text("".join(lines), encoding="utf-8")

    result = run_cli("policies", "check", "--dir", str(broken), env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    where = f"{jurisdictions}:{number}"
    assert result.stderr.startswith(
        f"privacy-service: policy error: {where}: jurisdictions[2].deadline: must be a period"
    )


def test_check_names_the_line_of_a_broken_notice_template(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "policies"
    shutil.copytree(SHIPPED, broken)
    template = broken / "notices" / "de" / "extended.txt"
    lines = template.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, 1) if "{{ extension_reason }}" in line)
    lines[number - 1] = lines[number - 1].replace("{{ extension_reason }}", "{{ extension_reason }")
    template.write_text("".join(lines), encoding="utf-8")
    (broken / "notices" / "en" / "completed.txt").unlink()

    result = run_cli("policies", "check", "--dir", str(broken), env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    problems = result.stderr.splitlines()
    assert (
        f"privacy-service: policy error: {broken / 'notices' / 'en' / 'completed.txt'}: missing"
        in problems[0]
    )
    assert problems[1].startswith(f"privacy-service: policy error: {template}:{number}: template: ")


def test_start_up_settings_choose_the_directory(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("policies", "check", env={**env, "PRIVACY_POLICIES_DIR": str(tmp_path / "nowhere")})
    assert result.returncode == 1
    assert (
        result.stderr
        == f"privacy-service: policy error: {tmp_path / 'nowhere'}: no such policies directory\n"
    )


def test_explain_tells_an_operator_what_an_erasure_from_germany_would_do(env: dict[str, str]) -> None:
    result = run_cli("policies", "explain", "--country", "DE", "--type", "erasure", env=env)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "jurisdiction: EU/EEA — GDPR (eu_gdpr)" in text
    assert "law: Regulation (EU) 2016/679 (GDPR), Art. 12(3)" in text
    assert "deadline: 1 month (due " in text
    assert "extension: up to 2 months more" in text
    assert "approval: not needed" in text
    assert "invoices: 8 years; HGB §257" in text


def test_explain_answers_json(env: dict[str, str]) -> None:
    before = datetime.now(UTC)
    result = run_cli("policies", "explain", "--country", "de", "--type", "erasure", "--json", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["jurisdiction"]["code"] == "eu_gdpr"
    assert (document["country"], document["type"]) == ("DE", "erasure")
    assert (document["deadline"], document["extension"]) == ("1 month", "2 months")
    assert document["needs_approval"] is False
    assert document["systems"] == []
    due_at = datetime.fromisoformat(document["due_at"])
    assert before + timedelta(days=27) < due_at < before + timedelta(days=32)
    [invoices] = [rule for rule in document["retention"] if rule["category"] == "invoices"]
    assert "AO §147" in invoices["legal_basis"]


def test_ropa_prints_the_record_of_processing_as_csv(env: dict[str, str]) -> None:
    result = run_cli("policies", "ropa", "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.startswith("purpose,description,legal_basis,legal_basis_provision,")
    assert any(row.startswith("order_fulfilment,") for row in rows)


def test_explain_refuses_a_country_that_is_not_a_code(env: dict[str, str]) -> None:
    result = run_cli("policies", "explain", "--country", "Germany", "--type", "erasure", env=env)
    assert result.returncode == 2
    assert "--country" in result.stderr
