"""web/assets: files served under the version of their content."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient

from privacy_service.web.assets import (
    IMMUTABLE,
    REVALIDATE,
    StaticAssets,
    VersionedFile,
    cache_control,
    content_version,
)


def test_a_version_is_the_first_12_hex_digits_of_the_sha256() -> None:
    assert content_version(b"abc") == "ba7816bf8f01"  # FIPS 180-2's example digest of "abc"


def test_only_the_version_served_is_cached_for_a_year() -> None:
    assert cache_control(requested="ba7816bf8f01", served="ba7816bf8f01") == IMMUTABLE
    assert cache_control(requested="000000000000", served="ba7816bf8f01") == REVALIDATE
    assert cache_control(requested=None, served="ba7816bf8f01") == REVALIDATE
    assert cache_control(requested=None, served=None) == REVALIDATE


def test_static_assets_are_versioned_by_their_path_below_the_directory(tmp_path: Path) -> None:
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "a.woff2").write_bytes(b"font")
    (tmp_path / "b.css").write_bytes(b"body {}")
    assets = StaticAssets(tmp_path)
    assert assets.url("fonts/a.woff2") == f"/assets/fonts/a.woff2?v={content_version(b'font')}"
    app = FastAPI()
    app.mount("/assets", assets)
    with TestClient(app) as client:
        assert client.get(assets.url("fonts/a.woff2")).headers["cache-control"] == IMMUTABLE
        assert client.get(assets.url("b.css")).content == b"body {}"


def test_a_versioned_file_answers_304_to_any_of_the_etags_offered() -> None:
    served = VersionedFile.of("/file", b"content", media_type="text/plain")
    app = FastAPI()

    @app.get("/file")
    def answer(request: Request) -> Response:
        return served.response(request.scope, headers={"X-Extra": "yes"})

    with TestClient(app) as client:
        first = client.get(served.url)
        assert (first.status_code, first.content, first.headers["x-extra"]) == (200, b"content", "yes")
        assert first.headers["etag"] == f'"{served.version}"'
        offered = f'"other", W/"{served.version}"'
        again = client.get(served.url, headers={"If-None-Match": offered})
        assert (again.status_code, again.headers["cache-control"]) == (304, IMMUTABLE)
        assert client.get(served.url, headers={"If-None-Match": '"other"'}).status_code == 200
