"""Which language a subject's profile locale gets: the best shipped one, else English."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_service.documents.languages import choose_language
from privacy_service.documents.texts import SubjectTexts
from tests.unit.documents.samples import FACTS, TRANSLATIONS, copy_of_english

SHIPPED_LANGUAGES = ("en", *TRANSLATIONS)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("de_CH", "de"),
        ("fr-CA", "fr"),
        ("pt", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("pt-br", "pt-BR"),
        ("es", "es-MX"),
        ("es-ES", "es-MX"),
        ("id-ID", "id"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("ja", "en"),
        ("en-GB", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_profile_locale_gets_the_best_shipped_notice(
    notices: SubjectTexts, locale: str | None, expected: str
) -> None:
    for kind in ("acknowledged", "completed"):
        assert notices.notice(kind, language=locale, facts=FACTS).language == expected


def test_an_exact_tag_wins_regardless_of_case() -> None:
    assert choose_language("PT-br", ["en", "pt-PT", "pt-BR"]) == "pt-BR"
    assert choose_language("pt_PT", ["en", "pt-PT", "pt-BR"]) == "pt-PT"


def test_the_bare_language_is_preferred_to_another_region() -> None:
    assert choose_language("pt-AO", ["en", "pt-BR", "pt", "pt-PT"]) == "pt"
    assert choose_language("de-AT", ["en", "de-CH", "de"]) == "de"


def test_another_region_of_the_language_is_chosen_when_no_bare_language_is_offered() -> None:
    assert choose_language("es", ["en", "es-MX"]) == "es-MX"
    assert choose_language("es-CO", ["en", "es-MX", "es-AR"]) == "es-AR"  # the first in sorted order


def test_english_answers_for_an_unknown_or_absent_language() -> None:
    assert choose_language("ja-JP", SHIPPED_LANGUAGES) == "en"
    assert choose_language(None, SHIPPED_LANGUAGES) == "en"
    assert choose_language("", ["de"]) == "en"
    assert choose_language("ja", []) == "en"


def test_a_language_without_a_kind_falls_back_to_english_for_that_kind(tmp_path: Path) -> None:
    notices = copy_of_english(tmp_path)
    (notices / "de").mkdir()
    (notices / "de" / "acknowledged.txt").write_text(
        "{% block subject %}Eingang{% endblock %}\n"
        "{% block text %}Guten Tag, {{ request_id }}{% endblock %}\n",
        encoding="utf-8",
    )
    templates = SubjectTexts(notices)
    assert templates.notice("acknowledged", language="de-AT", facts=FACTS).language == "de"
    assert templates.notice("extended", language="de-AT", facts=FACTS).language == "en"
