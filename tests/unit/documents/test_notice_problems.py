"""A broken notices directory is refused at load, each problem named by its file (and line, if any)."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_service.documents.texts import SubjectTexts, SubjectTextsInvalid, TemplateProblem
from tests.unit.documents.samples import SHIPPED, copy_of_english

_VALID_GERMAN = """\
{# A comment on line 1 #}
{% block subject %}Eingang{% endblock %}
{% block text %}
Guten Tag,

wir haben Ihre Anfrage {{ request_id }} erhalten.
{% endblock %}
"""


def only_problem(directory: Path) -> TemplateProblem:
    with pytest.raises(SubjectTextsInvalid) as raised:
        SubjectTexts(directory)
    problems = raised.value.problems
    assert len(problems) == 1, [str(problem) for problem in problems]
    assert SubjectTexts.problems_in(directory) == problems
    assert str(problems[0]) in str(raised.value)
    return problems[0]


def with_german(tmp_path: Path, text: str, kind: str = "acknowledged") -> tuple[Path, Path]:
    notices = copy_of_english(tmp_path)
    (notices / "de").mkdir()
    template = notices / "de" / f"{kind}.txt"
    template.write_text(text, encoding="utf-8")
    return notices, template


def test_the_shipped_templates_have_no_problem() -> None:
    assert SubjectTexts.problems_in(SHIPPED) == []


def test_a_valid_extra_language_loads(tmp_path: Path) -> None:
    notices, _ = with_german(tmp_path, _VALID_GERMAN)
    assert SubjectTexts(notices).languages == ("de", "en")


def test_a_syntax_error_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    broken = _VALID_GERMAN.replace("Ihre Anfrage {{ request_id }}", "Ihre Anfrage {{ request_id }")
    notices, template = with_german(tmp_path, broken)
    problem = only_problem(notices)
    assert (problem.file, problem.line) == (template, 6)
    assert problem.message.startswith("template: ")
    assert str(problem) == f"{template}:6: {problem.message}"


def test_an_unclosed_tag_is_reported_in_its_file(tmp_path: Path) -> None:
    broken = _VALID_GERMAN.replace("Guten Tag,", "Guten Tag{% if given_name %} {{ given_name }},")
    notices, template = with_german(tmp_path, broken, kind="rejected")
    problem = only_problem(notices)
    assert problem.file == template
    assert problem.line is not None
    assert problem.message.startswith("template: ")


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("{% block subject %}Eingang{% endblock %}\nGuten Tag, {{ request_id }}\n", "text"),
        ("{% block text %}Guten Tag, {{ request_id }}{% endblock %}\n", "subject"),
        ("Guten Tag, {{ request_id }}\n", "subject, text"),
    ],
)
def test_a_template_missing_a_block_is_refused(tmp_path: Path, text: str, missing: str) -> None:
    notices, template = with_german(tmp_path, text)
    problem = only_problem(notices)
    assert (problem.file, problem.line) == (template, None)
    assert problem.message == f"needs the blocks subject and text; missing {missing}"


def test_a_missing_english_kind_is_refused_because_english_is_the_fallback(tmp_path: Path) -> None:
    notices = copy_of_english(tmp_path)
    (notices / "en" / "extended.txt").unlink()
    problem = only_problem(notices)
    assert problem.file == notices / "en" / "extended.txt"
    assert problem.message == "missing: English is the fallback of every language"


def test_a_missing_notices_directory_is_refused(tmp_path: Path) -> None:
    problem = only_problem(tmp_path / "nowhere")
    assert problem.message == "no notices directory"


@pytest.mark.parametrize("name", ["German", "de_DE", "deutsch", "1de"])
def test_a_directory_not_named_by_a_language_tag_is_refused(tmp_path: Path, name: str) -> None:
    notices = copy_of_english(tmp_path)
    (notices / name).mkdir()
    (notices / name / "acknowledged.txt").write_text(_VALID_GERMAN, encoding="utf-8")
    problem = only_problem(notices)
    assert problem.file == notices / name
    assert problem.message == "not a BCP 47 language tag such as en or pt-BR"


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("wir haben Ihre Anfrage {{ customer_name }} erhalten.", "customer_name"),
        ("wir haben Ihre Anfrage {{ remedies.phone }} erhalten.", "phone"),
        ('{% set kinds = {"access": "Auskunft"} %}{{ kinds[request_type] }}', "erasure"),
    ],
)
def test_a_template_using_an_unknown_variable_is_refused(tmp_path: Path, line: str, named: str) -> None:
    notices, template = with_german(
        tmp_path, _VALID_GERMAN.replace("wir haben Ihre Anfrage {{ request_id }} erhalten.", line)
    )
    problem = only_problem(notices)
    assert (problem.file, problem.line) == (template, None)
    assert problem.message.startswith("does not render: ")
    assert named in problem.message


def test_a_template_reaching_outside_the_facts_is_refused_by_the_sandbox(tmp_path: Path) -> None:
    notices, template = with_german(
        tmp_path, _VALID_GERMAN.replace("{{ request_id }}", "{{ date.__globals__ }}")
    )
    problem = only_problem(notices)
    assert problem.file == template
    assert problem.message.startswith("does not render: ")
    assert "unsafe" in problem.message


def test_every_broken_template_is_reported_at_once(tmp_path: Path) -> None:
    notices, _ = with_german(tmp_path, "{% block subject %}x{% endblock %}\n")
    (notices / "de" / "extended.txt").write_text("{{ oops }", encoding="utf-8")
    (notices / "en" / "rejected.txt").unlink()
    problems = SubjectTexts.problems_in(notices)
    assert sorted(problem.file.name for problem in problems) == [
        "acknowledged.txt",
        "extended.txt",
        "rejected.txt",
    ]


def test_loading_again_reuses_the_checked_templates_until_a_file_changes(tmp_path: Path) -> None:
    notices = copy_of_english(tmp_path)
    first = SubjectTexts.load(notices)
    assert SubjectTexts.load(notices) is first, "unchanged files: checked once"
    extended = notices / "en" / "extended.txt"
    text = extended.read_text(encoding="utf-8")
    extended.write_text(text.replace("{{ extension_reason }}", "{{ customer_name }}"), encoding="utf-8")
    [problem] = SubjectTexts.problems_in(notices)
    assert problem.file == extended, "a changed file is checked again"
