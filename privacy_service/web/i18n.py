"""The pages' languages: which one a visitor gets, its messages, and dates and numbers in its forms.

A page's language is, in order: the one the visitor chose with the switch (a
``lang`` cookie, set by ``?lang=``), else the best match of ``Accept-Language``
(RFC 9110 §12.5.4) among what the area offers, else English. The privacy center
speaks the languages of the shops' markets; the console, English and German.

Messages are gettext catalogues, ``locales/<tag>/messages.po``, English being
the message ids themselves. They are read once, at import, into Babel
translations in memory: no compiled ``.mo`` file is kept in the repository.
``python3 dev.py messages`` extracts the ids from the templates and merges them
into every catalogue; a test fails while any catalogue lacks one.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "en"
#: BCP 47 tags, as ``Accept-Language`` and the switch name them, in the switch's order.
PRIVACY_LANGUAGES = ("en", "de", "fr", "pt-BR", "es-MX", "id", "zh-CN")
CONSOLE_LANGUAGES = ("en", "de")
LANGUAGE_COOKIE = "lang"
#: Each language named in itself, for the switch.
LANGUAGE_NAMES: Mapping[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "pt-BR": "Português (Brasil)",
    "es-MX": "Español (México)",
    "id": "Bahasa Indonesia",
    "zh-CN": "简体中文",
}


@dataclass(frozen=True)
class Language:
    """One page's language: its tag, its messages and its formats."""

    tag: str
    translations: NullTranslations

    @property
    def locale(self) -> Locale:
        return _babel_locale(self.tag)

    def gettext(self, message: str, **variables: object) -> str:
        """``message`` translated, its ``%(name)s`` placeholders filled (Jinja's "new style" gettext)."""
        text = self.translations.gettext(message)
        return text % variables if variables else text

    def pgettext(self, context: str, message: str, **variables: object) -> str:
        """``message`` as translated where it means something of its own (``context``): a console's
        request is an officer's *Antrag*, a customer's in the privacy center their *Anfrage*."""
        text = str(self.translations.pgettext(context, message))
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: object) -> str:
        return self.translations.ngettext(singular, plural, n) % {"num": n, **variables}

    def date(self, value: datetime) -> str:
        return format_date(value, format="long", locale=self.locale)

    def datetime(self, value: datetime) -> str:
        """A date and time to the minute, with its zone: the service keeps UTC; its readers are anywhere."""
        locale = self.locale
        time = format_time(value, f"{locale.time_formats['short'].pattern} z", tzinfo=UTC, locale=locale)
        date = format_date(value, "medium", locale=locale)
        return str(locale.datetime_formats["medium"]).format(time, date)

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)


def language(tag: str) -> Language:
    return Language(tag=tag, translations=_translations(tag))


def choose_language(*, offered: tuple[str, ...], chosen: str | None, accept_language: str | None) -> Language:
    """A page's language: the visitor's choice if offered, else ``Accept-Language``'s best, else English."""
    if chosen in offered:
        return language(chosen)
    for wanted in _preferences(accept_language or ""):
        match = _best_match(wanted, offered)
        if match is not None:
            return language(match)
    return language(DEFAULT_LANGUAGE)


def _preferences(header: str) -> list[str]:
    """The language ranges of an ``Accept-Language`` header, most wanted first; ``q=0`` and junk dropped."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0 and len(tag) <= 35:
            ranked.append((-quality, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def _best_match(wanted: str, offered: tuple[str, ...]) -> str | None:
    """``offered``'s tag for the range ``wanted``: exact, else by language (``pt``, ``pt-PT`` → ``pt-BR``)."""
    by_lower = {tag.lower(): tag for tag in offered}
    if wanted in by_lower:
        return by_lower[wanted]
    primary = wanted.split("-")[0]
    for tag in offered:
        if tag.lower().split("-")[0] == primary:
            return tag
    return None


@cache
def _babel_locale(tag: str) -> Locale:
    return Locale.parse(tag, sep="-")


@cache
def _translations(tag: str) -> NullTranslations:
    path = LOCALES_DIR / tag / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=tag.replace("-", "_"))
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)
