"""A bad policies directory is refused with every problem named by file, line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_service.policy import Period, PolicyError, PolicyProblem, WorkingDays, load_policies
from tests.unit.policy.samples import ENVIRON, JURISDICTIONS, RETENTION, SYSTEMS, WEBHOOK_SECRET, PolicyDir


def problems_of(directory: Path, environ: dict[str, str] = ENVIRON) -> list[PolicyProblem]:
    with pytest.raises(PolicyError) as raised:
        load_policies(directory, environ=environ)
    assert raised.value.problems, "a PolicyError lists at least one problem"
    return raised.value.problems


def only(problems: list[PolicyProblem]) -> PolicyProblem:
    assert len(problems) == 1, [str(problem) for problem in problems]
    return problems[0]


def test_a_yaml_syntax_error_is_reported_with_its_line(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS.replace("    law: GDPR Art. 12(3)\n", "    law: GDPR Art. 12(3)\n   oops: [\n")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 5)
    assert problem.message.startswith("YAML: ")


def test_an_unknown_key_is_reported_at_its_own_line(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS.replace(
        "    deadline: 45 days\n", "    deadline: 45 days\n    deadlines: 30 days\n"
    )
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 14)
    assert problem.message == "jurisdictions[1].deadlines: unknown key"


def test_a_bad_deadline_is_reported_at_its_line(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS.replace("deadline: 1 month", "deadline: 1 fortnight")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 6)
    assert problem.message.startswith("jurisdictions[0].deadline: must be a period such as")
    assert str(problem).endswith(f"jurisdictions.yaml:6: {problem.message}")


@pytest.mark.parametrize("deadline", ["0 days", "30"])
def test_a_deadline_must_be_a_positive_period_in_words(policy_dir: PolicyDir, deadline: str) -> None:
    broken = JURISDICTIONS.replace("deadline: 45 days", f"deadline: {deadline}")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 13)
    assert problem.message.startswith("jurisdictions[1].deadline: must be")


def test_a_duplicate_jurisdiction_code_is_reported_at_the_second_use(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS.replace("code: us_federal", "code: eu_gdpr")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 15)
    assert problem.message == "jurisdictions[2].code: code eu_gdpr already used by jurisdictions[0]"


def test_a_country_listed_in_two_jurisdictions_is_reported(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS.replace("countries: [US]", "countries:\n      - US\n      - fr")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 20)
    assert problem.message == "jurisdictions[2].countries[1]: FR is already listed in jurisdiction eu_gdpr"


def test_an_unquoted_norway_is_explained(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS.replace('"NO"', "NO")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 5)
    assert 'write "NO"' in problem.message


def test_a_missing_default_is_reported(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS[: JURISDICTIONS.index("default:")]
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 1)
    assert problem.message == "default: required key missing"


def test_a_second_default_is_reported_rather_than_silently_kept(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS + "default:\n  name: Other\n  law: other\n  deadline: 10 days\n"
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 25)
    assert "default: key written twice" in problem.message


def test_a_missing_field_points_at_its_entry(policy_dir: PolicyDir) -> None:
    broken = RETENTION.replace("    legal_basis: everywhere\n", "")
    problem = only(problems_of(policy_dir(retention=broken)))
    assert (problem.file.name, problem.line) == ("retention.yaml", 6)
    assert problem.message == "retention[1].legal_basis: required key missing"


def test_an_unset_secret_variable_is_named_without_any_secret(policy_dir: PolicyDir) -> None:
    environ = {"MAILER_WEBHOOK_SECRET": WEBHOOK_SECRET}
    problem = only(problems_of(policy_dir(), environ))
    assert (problem.file.name, problem.line) == ("systems.yaml", 4)
    assert (
        problem.message == "systems[0].secret_env: the environment variable ORDERS_WEBHOOK_SECRET is not set"
    )


@pytest.mark.parametrize(
    "secret",
    ["not-a-webhook-secret-at-all", "whsec_%%%notbase64%%%", "whsec_c2hvcnQ=", WEBHOOK_SECRET[6:]],
)
def test_a_secret_that_is_not_a_webhook_key_is_refused_without_quoting_it(
    policy_dir: PolicyDir, secret: str
) -> None:
    environ = {**ENVIRON, "MAILER_WEBHOOK_SECRET": secret}
    problems = problems_of(policy_dir(), environ)
    problem = only(problems)
    assert (problem.file.name, problem.line) == ("systems.yaml", 9)
    assert "MAILER_WEBHOOK_SECRET must hold" in problem.message
    for shown in (str(problem), str(PolicyError(problems)), repr(problem)):
        assert secret not in shown
        assert WEBHOOK_SECRET not in shown


def test_a_secret_variable_under_the_settings_prefix_is_refused(policy_dir: PolicyDir) -> None:
    broken = SYSTEMS.replace("ORDERS_WEBHOOK_SECRET", "PRIVACY_ORDERS_SECRET")
    problem = only(
        problems_of(policy_dir(systems=broken), {"PRIVACY_ORDERS_SECRET": WEBHOOK_SECRET, **ENVIRON})
    )
    assert (problem.file.name, problem.line) == ("systems.yaml", 4)
    assert "PRIVACY_" in problem.message


@pytest.mark.parametrize(
    "url", ["ftp://orders/privacy", "orders.shop.internal/privacy", "https://", "https://user:pw@orders/x"]
)
def test_a_bad_url_is_reported_at_its_line(policy_dir: PolicyDir, url: str) -> None:
    broken = SYSTEMS.replace("https://orders.shop.internal/privacy", url)
    problem = only(problems_of(policy_dir(systems=broken)))
    assert (problem.file.name, problem.line) == ("systems.yaml", 3)
    assert problem.message.startswith("systems[0].url: must")
    assert "pw" not in problem.message


def test_an_unknown_request_type_is_reported_at_its_item(policy_dir: PolicyDir) -> None:
    broken = SYSTEMS.replace("request_types: [notice]", "request_types:\n      - notice\n      - delete")
    problem = only(problems_of(policy_dir(systems=broken)))
    assert (problem.file.name, problem.line) == ("systems.yaml", 12)
    assert problem.message.startswith(
        "systems[1].request_types[1]: Input should be 'access', 'erasure' or 'notice'"
    )


def test_a_duplicate_system_name_is_reported_at_the_second(policy_dir: PolicyDir) -> None:
    broken = SYSTEMS.replace("name: mailer", "name: orders")
    problem = only(problems_of(policy_dir(systems=broken)))
    assert (problem.file.name, problem.line) == ("systems.yaml", 7)
    assert problem.message == "systems[1].name: system orders already declared at systems[0]"


def test_every_file_is_checked_before_failing(policy_dir: PolicyDir) -> None:
    problems = problems_of(
        policy_dir(
            jurisdictions=JURISDICTIONS.replace("deadline: 1 month", "deadline: soon"),
            retention=RETENTION.replace("keep_for: 1 year", "keep_for: 1 year\n    keep: forever"),
        ),
        environ={},
    )
    assert [(problem.file.name, problem.line) for problem in problems] == [
        ("jurisdictions.yaml", 6),
        ("retention.yaml", 8),
        ("systems.yaml", 4),
        ("systems.yaml", 9),
    ]


def test_missing_files_unknown_files_and_an_empty_file_are_reported(policy_dir: PolicyDir) -> None:
    directory = policy_dir(retention="")
    (directory / "systems.yaml").unlink()
    (directory / "jurisdiction.yml").write_text("{}", encoding="utf-8")
    problems = {(problem.file.name, problem.line, problem.message) for problem in problems_of(directory)}
    assert problems == {
        (
            "jurisdiction.yml",
            None,
            "unknown policy file; expected jurisdictions.yaml, holidays.yaml, retention.yaml, "
            "systems.yaml, shop_actions.yaml, processing.yaml, remedies.yaml, remedies_optional.yaml",
        ),
        ("retention.yaml", None, "must be a mapping with the keys retention"),
        ("systems.yaml", None, "file missing"),
    }


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path / "nowhere"))
    assert problem.message == "no such policies directory"
    assert str(problem) == f"{tmp_path / 'nowhere'}: no such policies directory"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "    roll_to_working_day: yes please\n",
            "jurisdictions[1].roll_to_working_day: Input should be a valid",
        ),
        (
            '    roll_to_working_day: "true"\n',
            "jurisdictions[1].roll_to_working_day: Input should be a valid",
        ),
        ("    roll_to_working_days: true\n", "jurisdictions[1].roll_to_working_days: unknown key"),
        ("    acknowledge_within: soon\n", "jurisdictions[1].acknowledge_within: must be a period such as"),
        ("    acknowledge_within: 10\n", "jurisdictions[1].acknowledge_within: must be a period such as"),
        (
            "    deadline_note: ''\n",
            "jurisdictions[1].deadline_note: String should have at least 1 character",
        ),
    ],
)
def test_a_bad_working_day_or_acknowledgement_rule_is_reported_at_its_line(
    policy_dir: PolicyDir, line: str, message: str
) -> None:
    broken = JURISDICTIONS.replace("    deadline: 45 days\n", "    deadline: 45 days\n" + line)
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 14)
    assert problem.message.startswith(message)


@pytest.mark.parametrize(
    ("deadline", "message"),
    [
        ("15 workdays", "must be a period such as '1 month', '45 days' or '15 working days'"),
        ("0 working days", "must be longer than zero"),
        ("at once", "must be a period such as"),
        ("1 month 15 working days", "must be a period such as"),
    ],
)
def test_a_deadline_in_working_days_is_checked_like_any_other(
    policy_dir: PolicyDir, deadline: str, message: str
) -> None:
    broken = JURISDICTIONS.replace("deadline: 45 days", f"deadline: {deadline}")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 13)
    assert problem.message.startswith(f"jurisdictions[1].deadline: {message}")


def test_a_rule_in_words_is_read_into_its_parts(policy_dir: PolicyDir) -> None:
    rules = JURISDICTIONS.replace(
        "    deadline: 45 days\n    extension: 45 days\n",
        "    deadline: 15 business days\n"
        "    deadline_note: our own promise\n"
        "    roll_to_working_day: true\n"
        "    extension: 45 calendar days\n"
        "    acknowledge_within: immediately\n",
    )
    ccpa = load_policies(policy_dir(jurisdictions=rules), environ=ENVIRON).jurisdiction_for("US-CA")
    assert ccpa.deadline == WorkingDays(15)
    assert ccpa.deadline.describe() == "15 business days"
    assert ccpa.deadline_note == "our own promise"
    assert ccpa.roll_to_working_day
    assert ccpa.extension == Period(days=45)
    assert ccpa.acknowledge_within == Period()


@pytest.mark.parametrize("value", ["2026-02-30", "2026-01-31 10:00:00"])
def test_a_date_where_a_period_belongs_is_reported_at_its_line_not_a_crash(
    policy_dir: PolicyDir, value: str
) -> None:
    broken = JURISDICTIONS.replace("extension: 45 days", f"extension: {value}")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 14)
    assert problem.message.startswith("jurisdictions[1].extension: must be a period such as")


def test_an_extension_is_counted_on_the_calendar(policy_dir: PolicyDir) -> None:
    broken = JURISDICTIONS.replace("extension: 45 days", "extension: 10 working days")
    problem = only(problems_of(policy_dir(jurisdictions=broken)))
    assert (problem.file.name, problem.line) == ("jurisdictions.yaml", 14)
    assert problem.message == (
        "jurisdictions[1].extension: must be a period on the calendar, such as '2 months' or '45 days'"
    )


def test_no_system_may_take_the_services_own_name(policy_dir: PolicyDir) -> None:
    broken = SYSTEMS.replace("name: mailer", "name: privacy-service")
    problem = only(problems_of(policy_dir(systems=broken)))
    assert (problem.file.name, problem.line) == ("systems.yaml", 7)
    assert problem.message.startswith("systems[1].name: privacy-service is the service's own name")
