"""The pages' files (stylesheets, the shop's logo), linked by a version of their content: browsers keep them.

Pages link each file with ``?v=`` and the first 12 hex digits of the SHA-256 of
what it serves, computed once at start-up (the files are the package's own and
the brand's settings, fixed for the process's life). An answer to a URL whose
``v`` names what is served is ``Cache-Control: public, max-age=31536000,
immutable``: a browser asks no more, and a new release, with new content, is
a new URL. Without ``v``, or with a ``v`` of other content (a page of the
release before), it is ``no-cache``: kept, but revalidated by its ETag at each
use. Pages and the API's answers stay ``no-store`` (``api/middleware.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_ROOT = "/assets"
VERSION_PARAMETER = "v"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def content_version(body: bytes) -> str:
    """The first 12 hex digits of the SHA-256 of ``body``: the version a URL names its content by."""
    return hashlib.sha256(body).hexdigest()[:12]


def cache_control(*, requested: str | None, served: str | None) -> str:
    """Cached for a year when the URL names the version served; otherwise kept but revalidated."""
    return IMMUTABLE if requested is not None and requested == served else REVALIDATE


def _requested_version(scope: Scope) -> str | None:
    return QueryParams(scope.get("query_string", b"")).get(VERSION_PARAMETER)


class StaticAssets(StaticFiles):
    """``static/`` under ``/assets``: Starlette's files (ETag, 304) with the cache policy by version."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        super().__init__(directory=directory, follow_symlink=False)
        self.versions = {
            path.relative_to(directory).as_posix(): content_version(path.read_bytes())
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        }

    def url(self, name: str) -> str:
        """The versioned URL of ``name`` (a KeyError for a file that is not there: a template's typo)."""
        return f"{ASSETS_ROOT}/{name}?{VERSION_PARAMETER}={self.versions[name]}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = cache_control(
            requested=_requested_version(scope), served=self.versions.get(path)
        )
        return response


@dataclass(frozen=True)
class VersionedFile:
    """A file held in memory and served at ``path``, under the version of its bytes (``of``)."""

    path: str
    body: bytes
    media_type: str
    version: str

    @classmethod
    def of(cls, path: str, body: bytes, *, media_type: str) -> VersionedFile:
        return cls(path=path, body=body, media_type=media_type, version=content_version(body))

    @property
    def url(self) -> str:
        return f"{self.path}?{VERSION_PARAMETER}={self.version}"

    def response(self, scope: Scope, *, headers: dict[str, str] | None = None) -> Response:
        """The file, or 304 when the browser's copy is current; cached by the version the URL names."""
        etag = f'"{self.version}"'
        answer = {
            "Cache-Control": cache_control(requested=_requested_version(scope), served=self.version),
            "ETag": etag,
            **(headers or {}),
        }
        offered = Headers(scope=scope).get("if-none-match", "")
        if etag in (tag.strip().removeprefix("W/") for tag in offered.split(",")):
            return Response(status_code=304, headers=answer)
        return Response(self.body, media_type=self.media_type, headers=answer)
