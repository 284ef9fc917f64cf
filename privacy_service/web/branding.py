"""The shop's name, logo and colour on every page, from settings: no template is edited to re-brand.

``PRIVACY_SHOP_NAME`` is the name in every title and header,
``PRIVACY_SHOP_LOGO_FILE`` an SVG or PNG shown beside it, and
``PRIVACY_SHOP_ACCENT_COLOR`` the colour of links and buttons, served as a
stylesheet of its own (``/brand/theme.css``) so the Content-Security-Policy
still forbids inline style. Start-up refuses an accent on which white button
text would fall under WCAG AA contrast (``core.config``). The stylesheet and
the logo are made or read once, at start-up, and linked by their version
(``web/assets.py``), as every setting holds for the process's life.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from privacy_service.core.config import Settings
from privacy_service.core.errors import NotFound
from privacy_service.web.assets import VersionedFile

router = APIRouter(prefix="/brand", include_in_schema=False)

_LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
#: A logo's SVG may carry no script of its own, whatever the file holds.
_LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@dataclass(frozen=True)
class Brand:
    """The shop's stylesheet and logo (none when none is configured, or its file is not there)."""

    theme: VersionedFile
    logo: VersionedFile | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Brand:
        css = f":root {{ --accent: {settings.shop_accent_color}; }}\n"
        path = settings.shop_logo_file
        return cls(
            theme=VersionedFile.of(f"{router.prefix}/theme.css", css.encode(), media_type="text/css"),
            logo=VersionedFile.of(
                f"{router.prefix}/logo", path.read_bytes(), media_type=_LOGO_TYPES[path.suffix.lower()]
            )
            if path is not None and path.is_file()
            else None,
        )


@router.get("/theme.css")
def theme(request: Request) -> Response:
    brand: Brand = request.app.state.brand
    return brand.theme.response(request.scope)


@router.get("/logo")
def logo(request: Request) -> Response:
    brand: Brand = request.app.state.brand
    if brand.logo is None:
        raise NotFound("No logo is configured.")
    return brand.logo.response(request.scope, headers={"Content-Security-Policy": _LOGO_POLICY})
