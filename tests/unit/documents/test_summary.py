"""The summary page of an export bundle: the Art. 15 information in the subject's language, escaped."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

from privacy_service.documents.summary import SAMPLE_SUMMARY, SummaryFacts
from privacy_service.documents.texts import SubjectTexts
from tests.unit.documents.samples import copy_of_english


def facts_with(**article15: object) -> SummaryFacts:
    document = copy.deepcopy(SAMPLE_SUMMARY.article15)
    document.update(article15)
    return replace(SAMPLE_SUMMARY, article15=document)


def test_the_page_gives_every_part_of_the_art_15_information(notices: SubjectTexts) -> None:
    page = notices.summary(language="en", facts=SAMPLE_SUMMARY).html
    assert page.startswith("<!doctype html>")
    for expected in (
        "01JSAMPLE0000000000000000",  # the request
        "Sample GmbH",  # the controller
        "Art. 6(1)(b): Contract",  # a purpose's legal basis
        "3 years",  # a category's retention
        "8 years: Law",  # a legal obligation to keep it
        "CN",  # a recipient's country
        "China&#39;s standard contract",  # its safeguard
        "the European Commission&#39;s standard contractual clauses",
        "Right of access (Art. 15)",
        "Authority, Street",  # where to complain
        "invoices: law (until 2035-12-31)",  # what a system keeps
    ):
        assert expected in page, expected


def test_text_from_the_policies_or_a_system_is_escaped(notices: SubjectTexts) -> None:
    hostile = copy.deepcopy(SAMPLE_SUMMARY.article15["recipients"])
    hostile[0]["description"] = "<script>alert(1)</script>"
    page = notices.summary(language="en", facts=facts_with(recipients=hostile)).html
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_without_automated_decisions_or_remedies_the_page_says_so(notices: SubjectTexts) -> None:
    page = notices.summary(language="en", facts=facts_with(automated_decisions=[], remedies=None)).html
    assert "No decision about you is based solely on automated processing" in page
    assert "lodge a complaint with the data protection supervisory authority" in page


def test_a_language_without_a_summary_gets_the_english_page(tmp_path: Path) -> None:
    notices = copy_of_english(tmp_path)
    (notices / "de").mkdir()
    assert SubjectTexts(notices).summary(language="de", facts=SAMPLE_SUMMARY).language == "en"


def test_a_broken_summary_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    notices = copy_of_english(tmp_path)
    summary = notices / "en" / "summary.html"
    summary.write_text("<p>\n{{ request_id }\n</p>\n", encoding="utf-8")
    [problem] = SubjectTexts.problems_in(notices)
    assert problem.file == summary
    assert problem.line == 2
    summary.unlink()
    [missing] = SubjectTexts.problems_in(notices)
    assert missing.file == summary
    assert "missing" in missing.message
