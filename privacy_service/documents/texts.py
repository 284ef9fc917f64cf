"""The texts the service writes to a data subject, from the shop's templates, in the subject's language.

``policies/notices/<language>/`` holds, per language (a BCP 47 tag), one
template per notice kind, ``<kind>.txt``, with two blocks: ``subject`` (the
subject line) and ``text`` (the body, paragraphs separated by a blank line);
and ``summary.html``, the page an export bundle opens with, which extends the
layout every language shares (``notices/summary-layout.html``: the document's
head and style). Every template is
compiled and rendered with sample facts when the templates are loaded, so a
mistake stops start-up (and ``policies check``) naming the file and line,
never a request later. English must be complete; another language may leave a
template out, and English answers for it.

Templates are configuration a shop edits, not code: they are rendered in
Jinja2's immutable sandbox with strict undefined variables, and see the facts
they are given and nothing else. A notice is rendered twice, as plain text and
autoescaped for the HTML a mailer may send; the summary is HTML, autoescaped.
Dates are written with Babel in the text's language.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from privacy_service.documents.languages import DEFAULT_LANGUAGE, choose_language, long_date
from privacy_service.documents.notices import NOTICE_KINDS, SAMPLE_NOTICE, NoticeFacts, RenderedNotice
from privacy_service.documents.summary import SAMPLE_SUMMARY, RenderedSummary, SummaryFacts

_BLOCKS = ("subject", "text")
_NOTICE_SUFFIX = ".txt"
SUMMARY_TEMPLATE = "summary.html"
_NO_ENGLISH = "missing: English is the fallback of every language"
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class TemplateProblem:
    """What is wrong with one template, where: shown by ``policies check`` as ``file:line: message``."""

    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class SubjectTextsInvalid(Exception):
    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def _notice_file(kind: str) -> str:
    return f"{kind}{_NOTICE_SUFFIX}"


_FILES = (*(_notice_file(kind) for kind in NOTICE_KINDS), SUMMARY_TEMPLATE)


class SubjectTexts:
    """The templates of one ``notices/`` directory, checked when loaded and read-only after."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.languages = _languages(directory)
        # Which templates each language has, read once: choosing one for a request touches no file.
        self._present = frozenset(
            f"{language}/{file}"
            for language in self.languages
            for file in _FILES
            if (directory / language / file).is_file()
        )
        self._text = _environment(directory, autoescape=False)
        self._html = _environment(directory, autoescape=True)
        problems = self._check()
        if problems:
            raise SubjectTextsInvalid(problems)

    @classmethod
    def load(cls, directory: Path) -> SubjectTexts:
        """The templates of ``directory``, compiled and checked once for each version of its files.

        Checking renders every template (a quarter of a second for the shipped
        ones); start-up checks them before the service is built, and every app
        of a process (a test's, the worker's) shares them. A file changed,
        added or removed makes another version, loaded afresh.
        """
        return _loaded(directory.resolve(), _version(directory))

    @classmethod
    def problems_in(cls, directory: Path) -> list[TemplateProblem]:
        """Every problem of the templates in ``directory``; empty when they load."""
        try:
            cls.load(directory)
        except SubjectTextsInvalid as invalid:
            return invalid.problems
        return []

    def notice(self, kind: str, *, language: str | None, facts: NoticeFacts) -> RenderedNotice:
        """The ``kind`` notice in the language best matching ``language`` that has that kind."""
        if kind not in NOTICE_KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        chosen, name = self._chosen(_notice_file(kind), language)
        values = _context(facts, chosen)
        subject = _block(self._text.get_template(name), "subject", values)
        text = _block(self._text.get_template(name), "text", values)
        html = _paragraphs(_block(self._html.get_template(name), "text", values))
        return RenderedNotice(language=chosen, subject_line=" ".join(subject.split()), text=text, html=html)

    def summary(self, *, language: str | None, facts: SummaryFacts) -> RenderedSummary:
        """The export's summary page in the language best matching ``language`` that has one."""
        chosen, name = self._chosen(SUMMARY_TEMPLATE, language)
        html = self._html.get_template(name).render(_context(facts, chosen))
        return RenderedSummary(language=chosen, html=html.strip() + "\n")

    def _chosen(self, file: str, language: str | None) -> tuple[str, str]:
        chosen = choose_language(language, [tag for tag in self.languages if self._has(tag, file)])
        return chosen, f"{chosen}/{file}"

    def _has(self, language: str, file: str) -> bool:
        return f"{language}/{file}" in self._present

    def _check(self) -> list[TemplateProblem]:
        if not self.directory.is_dir():
            return [TemplateProblem(self.directory, None, "no notices directory")]
        problems = [
            TemplateProblem(entry, None, "not a BCP 47 language tag such as en or pt-BR")
            for entry in sorted(self.directory.iterdir())
            if entry.is_dir() and not _LANGUAGE_TAG.fullmatch(entry.name)
        ]
        problems += [
            TemplateProblem(
                self.directory / DEFAULT_LANGUAGE / file,
                None,
                "missing: English is the fallback of every language",
            )
            for file in _FILES
            if not self._has(DEFAULT_LANGUAGE, file)
        ]
        for language in self.languages:
            for file in _FILES:
                if self._has(language, file):
                    problems.extend(self._check_one(language, file))
        return problems

    def _check_one(self, language: str, file: str) -> list[TemplateProblem]:
        path = self.directory / language / file
        name = f"{language}/{file}"
        try:
            if file == SUMMARY_TEMPLATE:
                self._html.get_template(name).render(_context(SAMPLE_SUMMARY, language))
                return []
            template = self._text.get_template(name)
            missing = [block for block in _BLOCKS if block not in template.blocks]
            if missing:
                needs = f"needs the blocks {' and '.join(_BLOCKS)}; missing {', '.join(missing)}"
                return [TemplateProblem(path, None, needs)]
            for environment in (self._text, self._html):
                for block in _BLOCKS:
                    _block(environment.get_template(name), block, _context(SAMPLE_NOTICE, language))
        except TemplateSyntaxError as error:
            return [TemplateProblem(path, error.lineno, f"template: {error.message}")]
        except (TemplateError, UnicodeDecodeError, TypeError, ValueError) as error:
            return [TemplateProblem(path, None, f"does not render: {error}")]
        return []


Version = tuple[tuple[str, int, int], ...]


def _version(directory: Path) -> Version:
    """Every file below ``directory`` with its modification time and size: what a change of them changes."""
    if not directory.is_dir():
        return ()
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    return tuple(
        (str(path.relative_to(directory)), path.stat().st_mtime_ns, path.stat().st_size) for path in files
    )


@functools.lru_cache(maxsize=8)
def _loaded(directory: Path, version: Version) -> SubjectTexts:
    # Read-only once loaded (and Jinja2 renders from many threads), so one instance serves every caller.
    return SubjectTexts(directory)


def _languages(directory: Path) -> tuple[str, ...]:
    if not directory.is_dir():
        return ()
    return tuple(
        sorted(
            entry.name
            for entry in directory.iterdir()
            if entry.is_dir() and _LANGUAGE_TAG.fullmatch(entry.name)
        )
    )


def _environment(directory: Path, *, autoescape: bool) -> ImmutableSandboxedEnvironment:
    # Sandboxed: the templates are configuration a shop edits, not code; they read the facts, nothing else.
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(directory, encoding="utf-8"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )


def _context(facts: NoticeFacts | SummaryFacts, language: str) -> dict[str, Any]:
    values = asdict(facts)
    date: Callable[[datetime], str] = lambda value: long_date(value, language)  # noqa: E731
    return {**values, "date": date, "language": language}


def _block(template: Template, block: str, values: Mapping[str, Any]) -> str:
    rendered = "".join(template.blocks[block](template.new_context(dict(values))))
    return rendered.strip()


def _paragraphs(escaped: str) -> str:
    """The autoescaped body as HTML paragraphs: a blank line parts two, a single newline is a break.

    ``escaped`` comes from the autoescaping environment, so every fact in it is escaped already.
    """
    blocks = [block.strip() for block in re.split(r"\n\s*\n", escaped) if block.strip()]
    return "\n".join("<p>" + "<br>\n".join(block.splitlines()) + "</p>" for block in blocks)
