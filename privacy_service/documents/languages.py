"""Which of the languages a shop wrote its texts in answers a subject, and dates written in it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

DEFAULT_LANGUAGE = "en"


def choose_language(wanted: str | None, available: Iterable[str]) -> str:
    """The best of ``available`` for a subject whose profile says ``wanted`` (BCP 47), else English.

    An exact tag wins (``pt-BR``); then the same language in another region
    (``pt-PT`` or ``pt`` gets ``pt-BR``, ``de-AT`` gets ``de``), preferring the
    bare language; otherwise the default. Tags compare without regard to case.
    """
    offered = {tag.lower(): tag for tag in available}
    if not wanted:
        return offered.get(DEFAULT_LANGUAGE, DEFAULT_LANGUAGE)
    tag = wanted.replace("_", "-").lower()
    if tag in offered:
        return offered[tag]
    language = tag.partition("-")[0]
    if language in offered:
        return offered[language]
    for candidate in sorted(offered):
        if candidate.partition("-")[0] == language:
            return offered[candidate]
    return offered.get(DEFAULT_LANGUAGE, DEFAULT_LANGUAGE)


def babel_locale(tag: str) -> Locale:
    """Babel's locale for a BCP 47 tag; English where Babel has no data for it."""
    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


def long_date(value: datetime, tag: str) -> str:
    """``value``'s date as the language writes it in full: "7 January 2027", "7. Januar 2027"."""
    return format_date(value, format="long", locale=babel_locale(tag))
