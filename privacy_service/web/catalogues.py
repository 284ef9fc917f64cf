"""The pages' message catalogues: the English ids found in the templates, and each language's translations.

``python3 dev.py messages`` runs ``update_catalogues``: it extracts every
``_()``/``{% trans %}`` id from ``templates/`` and merges them into each
``locales/<tag>/messages.po`` (new ids untranslated, vanished ones dropped).
``missing_translations`` is what the test suite holds at zero, so a page never
shows English in the middle of another language.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from privacy_service.web.i18n import CONSOLE_LANGUAGES, LOCALES_DIR, PRIVACY_LANGUAGES

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: The templates of each area; the shared ones (layout, errors, labels) sit at the top of ``templates/``.
AREA_TEMPLATES = {"privacy": "privacy/", "console": "console/"}
_METHODS = [("**.html", "jinja2.ext:babel_extract")]
_OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "yes", "lstrip_blocks": "yes"}}


def areas_of(tag: str) -> tuple[str, ...]:
    """The areas offered in ``tag``: every language has the privacy center, some the console too."""
    return ("privacy", "console") if tag in CONSOLE_LANGUAGES else ("privacy",)


def extracted(areas: tuple[str, ...] = ("privacy", "console")) -> Catalog:
    """The message ids of the shared templates and of ``areas``' own, with where each is used."""
    others = tuple(prefix for area, prefix in AREA_TEMPLATES.items() if area not in areas)
    catalog = Catalog(project="privacy-service", fuzzy=False)
    for filename, line, message, comments, context in extract_from_dir(
        TEMPLATES_DIR, method_map=_METHODS, options_map=_OPTIONS
    ):
        if not others or not filename.startswith(others):
            catalog.add(message, locations=[(filename, line)], auto_comments=comments, context=context)
    return catalog


def read_catalogue(tag: str) -> Catalog:
    path = LOCALES_DIR / tag / "messages.po"
    if not path.exists():
        return Catalog(locale=tag.replace("-", "_"))
    with path.open("rb") as source:
        return read_po(source, locale=tag.replace("-", "_"))


def update_catalogues(tags: tuple[str, ...] = PRIVACY_LANGUAGES) -> None:
    """Merge the templates' ids into every language's catalogue but English (the ids are English)."""
    for tag in tags:
        if tag == "en":
            continue
        template = extracted(areas_of(tag))
        catalog = read_catalogue(tag)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: its charset must reach the compiled catalogue
        catalog.project = "privacy-service"
        catalog.language_team = f"{tag}"
        catalog.header_comment = (
            f"# The privacy-service pages in {tag}. Ids are the English text (dev.py messages).\n#"
        )
        path = LOCALES_DIR / tag / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as target:
            write_po(target, catalog, width=100, omit_header=False, ignore_obsolete=True, sort_output=True)


def missing_translations(tag: str) -> list[str]:
    """The ids of the templates that ``tag``'s catalogue does not translate."""
    catalog = read_catalogue(tag)
    missing = []
    for message in extracted(areas_of(tag)):
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        if translated is None or translated.fuzzy or not _complete(translated.string):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def _complete(string: str | tuple[str, ...] | list[str] | None) -> bool:
    if string is None:
        return False
    if isinstance(string, str):
        return bool(string)
    return all(string)
