"""The shop's name, logo and colour on every page, from settings: no template is edited to re-brand.

``PRIVACY_SHOP_NAME`` is the name in every title and header,
``PRIVACY_SHOP_LOGO_FILE`` an SVG or PNG shown beside it, and
``PRIVACY_SHOP_ACCENT_COLOR`` the colour of links and buttons, served as a
stylesheet of its own (``/brand/theme.css``) so the Content-Security-Policy
still forbids inline style. Start-up refuses an accent on which white button
text would fall under WCAG AA contrast (``core.config``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from privacy_service.core.config import Settings
from privacy_service.core.errors import NotFound

router = APIRouter(prefix="/brand", include_in_schema=False)

_LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
#: A logo's SVG may carry no script of its own, whatever the file holds.
_LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@router.get("/theme.css")
def theme(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    css = f":root {{ --accent: {settings.shop_accent_color}; }}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=300"})


@router.get("/logo")
def logo(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    path = settings.shop_logo_file
    if path is None or not path.is_file():
        raise NotFound("No logo is configured.")
    return Response(
        path.read_bytes(),
        media_type=_LOGO_TYPES[path.suffix.lower()],
        headers={"Cache-Control": "public, max-age=300", "Content-Security-Policy": _LOGO_POLICY},
    )
