"""web/branding: the shop's stylesheet and logo, made or read once and served by version."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from privacy_service.web import branding
from privacy_service.web.assets import IMMUTABLE, content_version
from tests.conftest import make_settings

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'


def brand_app(brand: branding.Brand) -> FastAPI:
    app = FastAPI()
    app.include_router(branding.router)
    app.state.brand = brand
    return app


def test_the_logo_is_read_at_start_up_and_served_sandboxed_under_its_version(tmp_path: Path) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_bytes(SVG)
    brand = branding.Brand.from_settings(make_settings(tmp_path, shop_logo_file=logo))
    assert brand.logo is not None
    assert brand.logo.url == f"/brand/logo?v={content_version(SVG)}"
    logo.write_bytes(b"changed after start-up")
    with TestClient(brand_app(brand)) as client:
        served = client.get(brand.logo.url)
    assert served.content == SVG
    assert served.headers["content-type"] == "image/svg+xml"
    assert served.headers["cache-control"] == IMMUTABLE
    assert "sandbox" in served.headers["content-security-policy"]


def test_a_logo_whose_file_is_missing_is_not_shown(tmp_path: Path) -> None:
    brand = branding.Brand.from_settings(make_settings(tmp_path, shop_logo_file=tmp_path / "gone.png"))
    assert brand.logo is None  # and /brand/logo answers 404 (tests/functional/test_web_privacy.py)
