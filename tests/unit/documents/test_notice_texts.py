"""Every shipped language writes every notice kind with the facts the English one gives, and escapes HTML."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest

from privacy_service.documents.languages import long_date
from privacy_service.documents.notices import NOTICE_KINDS, NoticeFacts, Remedies, RenderedNotice
from privacy_service.documents.texts import SubjectTexts
from privacy_service.dsr.states import RejectionReason
from tests.unit.documents.samples import FACTS, MARKUP, TRANSLATIONS, facts

LANGUAGES = ("en", *TRANSLATIONS)
_LEFTOVER = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


def render(notices: SubjectTexts, kind: str, language: str, given: NoticeFacts = FACTS) -> RenderedNotice:
    notice = notices.notice(kind, language=language, facts=given)
    assert notice.language == language
    for part in (notice.subject_line, notice.text, notice.html):
        assert part.strip()
        assert not _LEFTOVER.search(part), part
    return notice


def test_every_shipped_language_has_every_kind(notices: SubjectTexts) -> None:
    assert set(notices.languages) == set(LANGUAGES)
    for language in LANGUAGES:
        for kind in NOTICE_KINDS:
            assert (notices.directory / language / f"{kind}.txt").is_file(), (language, kind)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", NOTICE_KINDS)
@pytest.mark.parametrize("request_type", ["access", "erasure"])
def test_a_notice_is_written_in_its_language_with_the_request_reference(
    notices: SubjectTexts, language: str, kind: str, request_type: str
) -> None:
    notice = render(notices, kind, language, facts(request_type=request_type))
    assert FACTS.request_id in notice.text
    assert FACTS.request_id in notice.html
    assert long_date(FACTS.received_at, language) in notice.text
    assert "\n" not in notice.subject_line
    if language != "en":
        english = render(notices, kind, "en", facts(request_type=request_type))
        assert notice.subject_line != english.subject_line
        assert notice.text != english.text


@pytest.mark.parametrize("language", TRANSLATIONS)
@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_a_translation_greets_by_given_name_and_neutrally_without_one(
    notices: SubjectTexts, language: str, kind: str
) -> None:
    named = render(notices, kind, language).text.splitlines()[0]
    anonymous = render(notices, kind, language, facts(given_name=None)).text.splitlines()[0]
    assert "Alex" in named
    assert "Alex" not in anonymous
    assert anonymous.strip()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["acknowledged", "extended"])
def test_the_acknowledgement_and_the_extension_give_the_due_date_and_the_law(
    notices: SubjectTexts, language: str, kind: str
) -> None:
    notice = render(notices, kind, language)
    assert long_date(FACTS.due_at, language) in notice.text
    assert FACTS.law in notice.text
    assert FACTS.privacy_center_url in notice.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_acknowledgement_names_what_was_asked_for(notices: SubjectTexts, language: str) -> None:
    access = render(notices, "acknowledged", language, facts(request_type="access")).text
    erasure = render(notices, "acknowledged", language, facts(request_type="erasure")).text
    assert access != erasure


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_extension_gives_the_officers_reason(notices: SubjectTexts, language: str) -> None:
    notice = render(notices, "extended", language)
    assert FACTS.extension_reason is not None
    assert FACTS.extension_reason in notice.text
    assert FACTS.extension_reason in notice.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rejection_gives_the_detail_and_the_remedies(notices: SubjectTexts, language: str) -> None:
    notice = render(notices, "rejected", language)
    assert MARKUP in notice.text
    assert FACTS.remedies is not None
    for remedy in (
        FACTS.remedies.authority,
        FACTS.remedies.address,
        FACTS.remedies.url,
        FACTS.remedies.courts,
    ):
        assert remedy is not None
        assert remedy in notice.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_html_escapes_what_an_officer_typed(notices: SubjectTexts, language: str) -> None:
    rejected = render(notices, "rejected", language)
    assert html.escape(MARKUP, quote=False) in rejected.html
    assert "<b>" not in rejected.html
    extended = render(notices, "extended", language, facts(extension_reason=MARKUP))
    assert MARKUP in extended.text
    assert html.escape(MARKUP, quote=False) in extended.html
    assert "<b>" not in extended.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_rejection_reason_is_said_in_words_of_its_own(notices: SubjectTexts, language: str) -> None:
    texts = {
        reason: render(
            notices, "rejected", language, facts(rejection_reason=reason.value, rejection_detail=None)
        ).text
        for reason in RejectionReason
    }
    assert len(set(texts.values())) == len(RejectionReason)
    assert all(MARKUP not in text for text in texts.values())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("left_out", ["address", "url", "courts"])
def test_a_remedy_the_jurisdiction_does_not_give_is_left_out_alone(
    notices: SubjectTexts, language: str, left_out: str
) -> None:
    assert FACTS.remedies is not None
    notice = render(
        notices,
        "rejected",
        language,
        facts(remedies=replace(FACTS.remedies, **{left_out: None})),  # type: ignore[arg-type]
    )
    for field in ("authority", "address", "url", "courts"):
        value = getattr(FACTS.remedies, field)
        assert (value in notice.text) is (field != left_out), field


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_rejection_with_the_authority_alone_still_points_to_the_courts(
    notices: SubjectTexts, language: str
) -> None:
    notice = render(notices, "rejected", language, facts(remedies=Remedies(authority="Authority-Name")))
    assert "Authority-Name" in notice.text
    assert notice.text != render(notices, "rejected", language).text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_completed_access_offers_the_download_until_its_date(notices: SubjectTexts, language: str) -> None:
    notice = render(notices, "completed", language, facts(request_type="access", retained=()))
    assert FACTS.export_until is not None
    assert long_date(FACTS.export_until, language) in notice.text
    assert FACTS.privacy_center_url in notice.text
    without = render(
        notices, "completed", language, facts(request_type="access", retained=(), export_until=None)
    )
    assert FACTS.privacy_center_url not in without.text
    erased = render(notices, "completed", language, facts(request_type="erasure"))
    assert erased.subject_line != notice.subject_line


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_completed_erasure_lists_what_the_law_keeps(notices: SubjectTexts, language: str) -> None:
    notice = render(notices, "completed", language)
    for item in FACTS.retained:
        line = next(line for line in notice.text.splitlines() if item.category in line)
        assert item.reason in line
        assert (item.until or "") in line
    assert notice.html.count("<br>") >= len(FACTS.retained)
    nothing_kept = render(notices, "completed", language, facts(retained=()))
    assert "Category-" not in nothing_kept.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_partial_or_failed_outcome_is_said_and_differs_from_success(
    notices: SubjectTexts, language: str
) -> None:
    texts = {
        outcome: render(notices, "completed", language, facts(outcome=outcome, retained=())).text
        for outcome in ("completed", "partially_completed", "failed")
    }
    assert len(set(texts.values())) == 3
    for outcome in ("partially_completed", "failed"):
        assert texts[outcome].startswith(texts["completed"])
