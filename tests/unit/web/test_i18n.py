"""The pages' languages: which one a visitor gets, complete catalogues, and the locale's own formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from privacy_service.web.catalogues import missing_translations, read_catalogue
from privacy_service.web.i18n import CONSOLE_LANGUAGES, PRIVACY_LANGUAGES, choose_language, language

_PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT,de;q=0.9,en;q=0.5", "de"),
        ("en;q=0.5, fr;q=0.9", "fr"),
        ("pt-PT", "pt-BR"),
        ("es", "es-MX"),
        ("zh-Hans-CN, zh;q=0.8", "zh-CN"),
        ("id-ID", "id"),
        ("de;q=0, en", "en"),
        ("xx-YY, *;q=0.1", "en"),
        ("", "en"),
        ("de;q=nonsense, fr", "fr"),
    ],
)
def test_accept_language_picks_the_best_offered_language(header: str, expected: str) -> None:
    assert choose_language(offered=PRIVACY_LANGUAGES, chosen=None, accept_language=header).tag == expected


def test_the_visitors_choice_wins_where_the_area_offers_it() -> None:
    assert choose_language(offered=PRIVACY_LANGUAGES, chosen="id", accept_language="de").tag == "id"
    assert choose_language(offered=CONSOLE_LANGUAGES, chosen="fr", accept_language="de").tag == "de"
    assert choose_language(offered=CONSOLE_LANGUAGES, chosen="fr", accept_language="fr").tag == "en"


@pytest.mark.parametrize("tag", [tag for tag in PRIVACY_LANGUAGES if tag != "en"])
def test_every_catalogue_translates_every_message_of_its_pages(tag: str) -> None:
    assert missing_translations(tag) == []


@pytest.mark.parametrize("tag", [tag for tag in PRIVACY_LANGUAGES if tag != "en"])
def test_translations_keep_their_placeholders(tag: str) -> None:
    for message in read_catalogue(tag):
        if message.id and isinstance(message.id, str) and message.string:
            placeholders = sorted(_PLACEHOLDER.findall(message.id))
            assert sorted(_PLACEHOLDER.findall(message.string)) == placeholders, message.id


def test_dates_and_numbers_in_the_locales_own_forms() -> None:
    day = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)
    assert language("de").date(day) == "1. März 2026"
    assert language("en").date(day) == "March 1, 2026"
    assert language("fr").number(1234567) == "1\u202f234\u202f567"
    assert language("de").number(1234567) == "1.234.567"
    assert language("zh-CN").date(day) == "2026年3月1日"


def test_messages_fill_their_placeholders_after_translation() -> None:
    assert language("de").gettext("Available until %(date)s.", date="1. März") == "Verfügbar bis 1. März."
    assert language("en").gettext("Available until %(date)s.", date="March 1") == "Available until March 1."
