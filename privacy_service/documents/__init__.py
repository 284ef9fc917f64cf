"""What the service writes to a data subject, in their language: notices about their requests, and the
summary page of an export.

Templates are the shop's, in ``policies/notices/<language>/`` (BCP 47 tags:
``en``, ``de``, ``pt-BR``...), and are rendered with Jinja2 in a sandbox
(``texts.SubjectTexts``). Dates are written with Babel in the text's language.
Plain data in, text out: no database, no clock, no HTTP.
"""

from privacy_service.documents.languages import DEFAULT_LANGUAGE, choose_language
from privacy_service.documents.notices import (
    NOTICE_KINDS,
    NoticeFacts,
    Remedies,
    RenderedNotice,
    RetainedFact,
)
from privacy_service.documents.summary import RenderedSummary, SummaryFacts, SystemAnswer
from privacy_service.documents.texts import SubjectTexts, SubjectTextsInvalid, TemplateProblem

__all__ = [
    "DEFAULT_LANGUAGE",
    "NOTICE_KINDS",
    "NoticeFacts",
    "Remedies",
    "RenderedNotice",
    "RenderedSummary",
    "RetainedFact",
    "SubjectTexts",
    "SubjectTextsInvalid",
    "SummaryFacts",
    "SystemAnswer",
    "TemplateProblem",
    "choose_language",
]
