"""The people's side, server-rendered: the privacy center (``/privacy/``) and the console (``/console/``).

Plain HTML forms that work without JavaScript, rendered from ``templates/``
in the visitor's language (``locales/``), styled by ``static/``, on the same
services, rules and audit trail as ``api/``. Browser sessions, CSRF tokens and
the Content-Security-Policy are described in ``visitors.py``, ``headers.py`` and
``identity/browser_sessions.py``; SECURITY.md maps them to ASVS.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from privacy_service.web import admin, branding, console, privacy, systems

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_ROOT = "/assets"


def install_web(app: FastAPI) -> None:
    """Serve the pages and their static files from ``app``; none of it is in the OpenAPI document."""
    app.include_router(privacy.router)
    app.include_router(console.router)
    app.include_router(systems.router)
    app.include_router(admin.router)
    app.include_router(branding.router)
    app.mount(ASSETS_ROOT, StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="assets")
