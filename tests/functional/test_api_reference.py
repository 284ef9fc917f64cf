"""GET /docs: the API reference from the service itself, usable on a network with no way out."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from privacy_service.api.routes.reference import render_reference


class PageParts(HTMLParser):
    """Every tag with its attributes, the text of each <style>, and all the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        else:
            self.text.append(data)


@pytest.fixture
def page(client: TestClient) -> tuple[PageParts, dict[str, str]]:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    parts = PageParts()
    parts.feed(response.text)
    return parts, dict(response.headers)


def test_the_reference_lists_every_operation_of_the_openapi_document(
    client: TestClient, page: tuple[PageParts, dict[str, str]]
) -> None:
    document = client.get("/openapi.json").json()
    parts, _ = page
    text = " ".join(parts.text)
    anchors = {attrs["id"] for _, attrs in parts.tags if attrs.get("id")}
    links = {attrs["href"] for tag, attrs in parts.tags if tag == "a" and attrs.get("href")}
    for path, operations in document["paths"].items():
        assert path in text, path
        for method in operations:
            section = f"{method}-{_slug(path)}"
            assert section in anchors, (method, path)
            assert f"#{section}" in links, (method, path)
    for name in document["components"]["schemas"]:
        assert f"schema-{name}" in anchors, name


def test_the_reference_loads_nothing_from_another_host_and_runs_no_script(
    page: tuple[PageParts, dict[str, str]],
) -> None:
    parts, _ = page
    references = [
        value
        for _, attrs in parts.tags
        for name, value in attrs.items()
        if name in {"src", "href", "action", "srcset", "data", "poster"} and value is not None
    ]
    assert references, "the page links at least to its own sections and to openapi.json"
    for reference in references:
        split = urlsplit(reference)
        assert (split.scheme, split.netloc) == ("", ""), reference
        assert not reference.startswith("//"), reference
    tags = {tag for tag, _ in parts.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed", "img", "form"}
    assert not [name for _, attrs in parts.tags for name in attrs if name.startswith("on") or name == "style"]


def test_the_reference_passes_its_own_content_security_policy(page: tuple[PageParts, dict[str, str]]) -> None:
    parts, headers = page
    policy = headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    allowed = set(re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", policy))
    assert parts.styles
    for style in parts.styles:
        assert base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() in allowed
    assert headers["x-content-type-options"] == "nosniff"


def test_the_openapi_document_is_still_served_and_redoc_is_not(client: TestClient) -> None:
    document = client.get("/openapi.json")
    assert document.status_code == 200
    assert "/v1/dsr" in document.json()["paths"]
    # ReDoc's page would load its script from a CDN: there is one reference, at /docs.
    assert client.get("/redoc").status_code == 404


def test_values_from_the_document_are_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    html = render_reference(
        {
            "openapi": "3.1.0",
            "info": {"title": hostile, "version": '1"><b>', "summary": hostile},
            "paths": {
                "/x/{id}": {
                    "get": {
                        "summary": hostile,
                        "tags": [hostile],
                        "parameters": [{"name": hostile, "in": "path", "schema": {"enum": [hostile]}}],
                        "responses": {"200": {"description": hostile}},
                    }
                }
            },
            "components": {
                "schemas": {hostile: {"type": "object", "properties": {hostile: {"type": "string"}}}}
            },
        }
    )
    assert "<script>" not in html
    assert '"><b>' not in html
    assert "&lt;script&gt;" in html


def _slug(path: str) -> str:
    return "".join(character if character.isalnum() else "-" for character in path).strip("-")
