"""The people's side, server-rendered: the privacy center (``/privacy/``) and the console (``/console/``).

Plain HTML forms that work without JavaScript, rendered from ``templates/``
in the visitor's language (``locales/``), styled by ``static/`` (linked by
version, ``assets.py``), on the same
services, rules and audit trail as ``api/``. Browser sessions, CSRF tokens and
the Content-Security-Policy are described in ``visitors.py``, ``headers.py`` and
``identity/browser_sessions.py``; SECURITY.md maps them to ASVS.
"""

from __future__ import annotations

from fastapi import FastAPI

from privacy_service.web import admin, branding, console, privacy, reports, systems
from privacy_service.web.assets import ASSETS_ROOT, StaticAssets


def install_web(app: FastAPI) -> None:
    """Serve the pages and their files from ``app``, the files versioned once here (``web/assets.py``); none
    of it is in the OpenAPI document."""
    app.include_router(privacy.router)
    app.include_router(console.router)
    app.include_router(reports.router)
    app.include_router(systems.router)
    app.include_router(admin.router)
    app.include_router(branding.router)
    app.state.brand = branding.Brand.from_settings(app.state.settings)
    app.state.static_assets = StaticAssets()
    app.mount(ASSETS_ROOT, app.state.static_assets, name="assets")
