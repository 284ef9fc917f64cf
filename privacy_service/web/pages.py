"""Rendering a page: one Jinja2 environment, autoescaping on, and what every page's layout needs.

Templates live in ``templates/``: ``privacy/`` for the privacy center,
``console/`` for the console, and the layout and error page they share. They
never build markup from strings in Python, and they carry no inline script or
style, so the Content-Security-Policy (``web/headers.py``) can forbid both.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from privacy_service.identity.mfa import TotpEnrolment
from privacy_service.web.headers import PAGE_HEADERS
from privacy_service.web.i18n import LANGUAGE_NAMES, Language

ENVIRONMENT = Environment(
    loader=PackageLoader("privacy_service.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt variable fails the test that renders it, not a customer's page
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
# ``{% trans %}`` and ``_()`` pass their variables to the gettext of the page's language, which fills them.
ENVIRONMENT.newstyle_gettext = True  # type: ignore[attr-defined]


def render(
    template: str,
    *,
    language: Language,
    languages: tuple[str, ...],
    shop_name: str,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """``template`` in ``language``, with the layout's own variables; the pages' headers set."""
    body = ENVIRONMENT.get_template(template).render(
        lang=language,
        languages=[(tag, LANGUAGE_NAMES[tag]) for tag in languages],
        shop_name=shop_name,
        status_code=status_code,
        gettext=language.gettext,
        ngettext=language.ngettext,
        pgettext=language.pgettext,
        _=language.gettext,
        **context,
    )
    return HTMLResponse(body, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


def enrolment_shown(enrolment: TotpEnrolment) -> dict[str, Any]:
    """What a page shows of a new TOTP key: the QR code, and the key in groups of four to type by hand.

    The QR code is an image the Content-Security-Policy allows (``img-src data:``), not inline markup.
    """
    secret = enrolment.secret
    return {
        "qr_data_uri": "data:image/svg+xml;base64,"
        + base64.b64encode(enrolment.qr_svg.encode()).decode("ascii"),
        "secret_groups": [secret[index : index + 4] for index in range(0, len(secret), 4)],
    }
