"""Every shipped language writes the export's summary page with the facts the English one gives, escaped."""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from privacy_service.documents.languages import long_date
from privacy_service.documents.summary import SAMPLE_SUMMARY, SummaryFacts
from privacy_service.documents.texts import SubjectTexts
from tests.unit.documents.samples import TRANSLATIONS

_LEFTOVER = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
#: Phrases of the English page and of its dictionaries that the sample shows; a translation leaves none.
_ENGLISH = (
    "Your personal data",
    "What this archive holds",
    "Kept under a legal obligation",
    "could not answer",
    "Who is responsible",
    "Data protection officer",
    "Legal basis",
    "How long it is kept",
    "not recorded",
    "Who receives it",
    "under appropriate safeguards",
    "standard contractual clauses",
    "standard contract for personal information",
    "Significance:",
    "Your rights",
    "Where you can complain",
)
_ENGLISH_FALLBACKS = (
    "No decision about you is based solely on automated processing",
    "You may lodge a complaint",
)


class PageParts(HTMLParser):
    """The elements of a page in order, its visible text, and every address it refers to."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[str] = []
        self.addresses: list[str] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(tag)
        self._in_style = tag == "style"
        self.addresses += [value or "" for name, value in attrs if name in ("href", "src", "action")]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style and data.strip():
            self.text.append(" ".join(data.split()))


def summary(notices: SubjectTexts, language: str, facts: SummaryFacts = SAMPLE_SUMMARY) -> str:
    page = notices.summary(language=language, facts=facts)
    assert page.language == language
    assert not _LEFTOVER.search(page.html), page.html
    return page.html


def facts_with(**article15: object) -> SummaryFacts:
    document = copy.deepcopy(SAMPLE_SUMMARY.article15)
    document.update(article15)
    return replace(SAMPLE_SUMMARY, article15=document)


def test_the_english_phrases_no_translation_may_show_are_on_the_english_page(notices: SubjectTexts) -> None:
    text = " ".join(PageParts(summary(notices, "en")).text)
    for english in _ENGLISH:
        assert english in text, english
    fallback = summary(notices, "en", facts_with(automated_decisions=[], remedies=None))
    for english in _ENGLISH_FALLBACKS:
        assert english in fallback, english


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_the_page_is_written_in_its_language_with_the_facts_of_the_request(
    notices: SubjectTexts, language: str
) -> None:
    page = summary(notices, language)
    assert page.startswith("<!doctype html>")
    assert f'<html lang="{language}">' in page
    text = " ".join(PageParts(page).text)
    for expected in (
        SAMPLE_SUMMARY.request_id,
        long_date(SAMPLE_SUMMARY.received_at, language),
        long_date(SAMPLE_SUMMARY.generated_at, language),
        "Sample GmbH",  # the controller
        "Art. 6(1)(b)",  # a purpose's legal basis, as the policy words it
        "8 years",  # a legal obligation to keep a category
        "Authority",  # where to complain
        "2035-12-31",  # until when a system keeps what it must
    ):
        assert expected in text, expected
    assert "<td>CN</td>" in page  # the recipient's country
    for english in _ENGLISH:
        assert english not in text, english
    assert page != summary(notices, "en")


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_the_page_has_the_english_pages_elements_and_refers_to_nothing_outside(
    notices: SubjectTexts, language: str
) -> None:
    page = PageParts(summary(notices, language))
    assert page.elements == PageParts(summary(notices, "en")).elements
    assert not {"script", "link", "img", "iframe", "object", "embed", "form"} & set(page.elements)
    assert page.addresses == [
        "mailto:privacy@sample.example",  # the controller
        "mailto:privacy@sample.example",  # its data protection officer
        "https://a.example",  # the authority's own page, a link the subject may follow
    ]


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_without_automated_decisions_or_remedies_the_page_says_so_in_its_language(
    notices: SubjectTexts, language: str
) -> None:
    page = summary(notices, language, facts_with(automated_decisions=[], remedies=None))
    assert page != summary(notices, language)
    for english in _ENGLISH_FALLBACKS:
        assert english not in page, english
    assert "Logic" not in page
    assert "Complaint" not in page


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_text_from_the_policies_is_escaped_in_every_language(notices: SubjectTexts, language: str) -> None:
    hostile = copy.deepcopy(SAMPLE_SUMMARY.article15["recipients"])
    hostile[0]["description"] = "<script>x</script>"
    page = summary(notices, language, facts_with(recipients=hostile))
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de-AT", "de"),
        ("fr-CA", "fr"),
        ("pt", "pt-BR"),
        ("es", "es-MX"),
        ("id-ID", "id"),
        ("zh-Hans-CN", "zh-CN"),
    ],
)
def test_a_profile_locale_gets_the_summary_of_the_best_shipped_language(
    notices: SubjectTexts, locale: str, expected: str
) -> None:
    page = notices.summary(language=locale, facts=SAMPLE_SUMMARY)
    assert page.language == expected
    assert f'<html lang="{expected}">' in page.html
