"""The pages' files through HTTP: linked by a version of their content, cached for a year under it, and the
pages themselves never stored."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient

from privacy_service.web.assets import STATIC_DIR

IMMUTABLE = "public, max-age=31536000, immutable"


def linked(page: str, prefix: str) -> str:
    """The URL of the stylesheet ``page`` links under ``prefix``."""
    match = re.search(rf'<link rel="stylesheet" href="({re.escape(prefix)}[^"]*)">', page)
    assert match is not None, f"no stylesheet under {prefix}"
    return match.group(1)


def test_a_page_links_its_stylesheet_by_the_first_12_hex_digits_of_its_sha256(client: TestClient) -> None:
    page = client.get("/privacy/sign-in").text
    version = hashlib.sha256((STATIC_DIR / "site.css").read_bytes()).hexdigest()[:12]
    assert linked(page, "/assets/") == f"/assets/site.css?v={version}"
    theme = linked(page, "/brand/")
    assert theme.startswith("/brand/theme.css?v=")
    assert (
        theme.removeprefix("/brand/theme.css?v=")
        == hashlib.sha256(client.get(theme).content).hexdigest()[:12]
    )


def test_a_versioned_asset_is_cached_for_a_year_and_the_page_linking_it_is_never_stored(
    client: TestClient,
) -> None:
    page = client.get("/privacy/sign-in")
    assert page.headers["cache-control"] == "no-store"
    for url in (linked(page.text, "/assets/"), linked(page.text, "/brand/")):
        asset = client.get(url)
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == IMMUTABLE
        assert asset.headers["content-type"].startswith("text/css")
        assert asset.headers["x-content-type-options"] == "nosniff"  # the edge's other headers stay


def test_an_unversioned_or_outdated_asset_is_revalidated_by_its_etag(client: TestClient) -> None:
    for url in (
        "/assets/site.css",
        "/assets/site.css?v=000000000000",
        "/brand/theme.css",
        "/brand/theme.css?v=1",
    ):
        asset = client.get(url)
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "no-cache"
        again = client.get(url, headers={"If-None-Match": asset.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["cache-control"] == "no-cache"
        assert again.content == b""


def test_the_api_and_an_unknown_asset_are_never_stored(client: TestClient) -> None:
    assert client.get("/healthz").headers["cache-control"] == "no-store"
    missing = client.get("/assets/nothing.css?v=000000000000")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"
