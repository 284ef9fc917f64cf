"""Notices to a data subject about their request, rendered from the shop's templates in their language.

A notice kind is one file per language, ``policies/notices/<language>/<kind>.txt``,
a Jinja2 template with two blocks: ``subject`` (the subject line) and ``text``
(the body, paragraphs separated by a blank line). Every template is compiled
and rendered once with sample facts when the templates are loaded, so a
mistake stops start-up (and ``policies check``) naming the file and line,
never a request later. English must be complete; another language may leave a
kind out, and English answers for it.

The facts a template sees are plain data (``NoticeFacts``); what the subject
wrote or an officer typed reaches the HTML form only escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from privacy_service.documents.languages import DEFAULT_LANGUAGE, choose_language, long_date

#: API.md: every request is acknowledged at once; then extended, rejected or completed.
NOTICE_KINDS = ("acknowledged", "extended", "rejected", "completed")
_BLOCKS = ("subject", "text")
_SUFFIX = ".txt"
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class TemplateProblem:
    """What is wrong with one template, where: shown by ``policies check`` as ``file:line: message``."""

    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class NoticeTemplatesInvalid(Exception):
    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class Remedies:
    """Where the subject can turn when refused: the supervisory authority, and the courts."""

    authority: str
    address: str | None = None
    url: str | None = None
    courts: str | None = None


@dataclass(frozen=True)
class RetainedFact:
    """Something a system keeps under a legal obligation, as it told us."""

    system: str
    category: str
    reason: str
    until: str | None = None


@dataclass(frozen=True)
class NoticeFacts:
    """What a notice may say. Fields a kind does not use stay None (an acknowledgement has no outcome)."""

    request_id: str
    request_type: str  # access | erasure
    received_at: datetime
    due_at: datetime
    jurisdiction: str  # the law's name as the policies give it: "EU/EEA — GDPR"
    law: str
    privacy_center_url: str
    given_name: str | None = None
    extension_reason: str | None = None
    rejection_reason: str | None = None  # dsr.states.RejectionReason's value
    rejection_detail: str | None = None
    remedies: Remedies | None = None
    outcome: str | None = None  # completed | partially_completed | failed
    export_until: datetime | None = None
    retained: tuple[RetainedFact, ...] = field(default=())


@dataclass(frozen=True)
class RenderedNotice:
    language: str
    subject_line: str
    text: str
    html: str


_SAMPLE = NoticeFacts(
    request_id="01JSAMPLE0000000000000000",
    request_type="erasure",
    received_at=datetime(2027, 1, 31, 9, 30, tzinfo=UTC),
    due_at=datetime(2027, 3, 1, 9, 30, tzinfo=UTC),
    jurisdiction="Sample",
    law="Sample law",
    privacy_center_url="https://shop.example/privacy/",
    given_name="Sam",
    extension_reason="Sample reason",
    rejection_reason="other",
    rejection_detail="Sample detail",
    remedies=Remedies(
        authority="Sample authority", address="1 Sample Street", url="https://a.example", courts="x"
    ),
    outcome="partially_completed",
    export_until=datetime(2027, 3, 8, tzinfo=UTC),
    retained=(
        RetainedFact(system="invoicing", category="invoices", reason="Sample law", until="2035-12-31"),
    ),
)


class NoticeTemplates:
    """The notice templates of one ``notices/`` directory, checked when loaded and read-only after."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.languages = _languages(directory)
        self._text = _environment(directory, autoescape=False)
        self._html = _environment(directory, autoescape=True)
        problems = self._check()
        if problems:
            raise NoticeTemplatesInvalid(problems)

    @classmethod
    def problems_in(cls, directory: Path) -> list[TemplateProblem]:
        """Every problem of the templates in ``directory``; empty when they load."""
        try:
            cls(directory)
        except NoticeTemplatesInvalid as invalid:
            return invalid.problems
        return []

    def render(self, kind: str, *, language: str | None, facts: NoticeFacts) -> RenderedNotice:
        """The ``kind`` notice in the language best matching ``language`` that has that kind."""
        if kind not in NOTICE_KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        chosen = choose_language(language, [tag for tag in self.languages if self._has(tag, kind)])
        name = _name(chosen, kind)
        values = _context(facts, chosen)
        subject = _block(self._text.get_template(name), "subject", values)
        text = _block(self._text.get_template(name), "text", values)
        html = _paragraphs(_block(self._html.get_template(name), "text", values))
        return RenderedNotice(language=chosen, subject_line=" ".join(subject.split()), text=text, html=html)

    def _has(self, language: str, kind: str) -> bool:
        return (self.directory / _name(language, kind)).is_file()

    def _check(self) -> list[TemplateProblem]:
        problems: list[TemplateProblem] = []
        if not self.directory.is_dir():
            return [TemplateProblem(self.directory, None, "no notices directory")]
        for entry in sorted(self.directory.iterdir()):
            if entry.is_dir() and not _LANGUAGE_TAG.fullmatch(entry.name):
                problems.append(TemplateProblem(entry, None, "not a BCP 47 language tag such as en or pt-BR"))
        for kind in NOTICE_KINDS:
            if not self._has(DEFAULT_LANGUAGE, kind):
                problems.append(
                    TemplateProblem(
                        self.directory / _name(DEFAULT_LANGUAGE, kind),
                        None,
                        "missing: English is the fallback of every language",
                    )
                )
        for language in self.languages:
            for kind in NOTICE_KINDS:
                if self._has(language, kind):
                    problems.extend(self._check_one(language, kind))
        return problems

    def _check_one(self, language: str, kind: str) -> list[TemplateProblem]:
        path = self.directory / _name(language, kind)
        try:
            template = self._text.get_template(_name(language, kind))
            missing = [block for block in _BLOCKS if block not in template.blocks]
            if missing:
                return [
                    TemplateProblem(
                        path, None, f"needs the blocks {' and '.join(_BLOCKS)}; missing {', '.join(missing)}"
                    )
                ]
            for environment in (self._text, self._html):
                for block in _BLOCKS:
                    _block(
                        environment.get_template(_name(language, kind)), block, _context(_SAMPLE, language)
                    )
        except TemplateSyntaxError as error:
            return [TemplateProblem(path, error.lineno, f"template: {error.message}")]
        except (TemplateError, UnicodeDecodeError, TypeError, ValueError) as error:
            return [TemplateProblem(path, None, f"does not render: {error}")]
        return []


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


def _name(language: str, kind: str) -> str:
    return f"{language}/{kind}{_SUFFIX}"


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


def _context(facts: NoticeFacts, language: str) -> dict[str, Any]:
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
