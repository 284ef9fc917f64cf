"""What the service writes to a data subject, in their language: the notices about their requests.

Templates are the shop's, in ``policies/notices/<language>/`` (BCP 47 tags:
``en``, ``de``, ``pt-BR``...), one file per notice kind. They are rendered with
Jinja2 in a sandbox, twice: autoescaped for the HTML a mailer may send, and as
plain text. Dates are written with Babel in the notice's language. Plain data
in, text out: no database, no clock, no HTTP.
"""

from privacy_service.documents.languages import DEFAULT_LANGUAGE, choose_language
from privacy_service.documents.notices import (
    NOTICE_KINDS,
    NoticeFacts,
    NoticeTemplates,
    NoticeTemplatesInvalid,
    Remedies,
    RenderedNotice,
    RetainedFact,
    TemplateProblem,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "NOTICE_KINDS",
    "NoticeFacts",
    "NoticeTemplates",
    "NoticeTemplatesInvalid",
    "Remedies",
    "RenderedNotice",
    "RetainedFact",
    "TemplateProblem",
    "choose_language",
]
