"""The headers of every page: a Content-Security-Policy that allows nothing but this service's own files.

No inline script or style at all (``'unsafe-inline'`` appears nowhere), no
framing (``frame-ancestors 'none'``, against clickjacking), forms post only
here, and no ``<base>`` that could redirect relative links. Images may be
``data:`` URIs: the TOTP enrolment's QR code is one. The HTTP edge
(``api/middleware.py``) adds ``nosniff``, ``no-store``, ``no-referrer`` and
``X-Frame-Options: DENY`` to every answer, pages included.
"""

from __future__ import annotations

from collections.abc import Mapping

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
