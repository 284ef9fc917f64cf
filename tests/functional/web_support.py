"""A browser without JavaScript, for the web pages' functional tests: it keeps cookies and posts forms.

It reads what a page's forms carry (the CSRF token, a login's ``mfa_token``)
from the HTML the service rendered, as a browser submitting the form would
send it, and never follows redirects by itself, so each answer can be checked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import httpx
import pyotp
from fastapi.testclient import TestClient

from tests.functional.conftest import Api

_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[a-z_]+)" value="(?P<value>[^"]*)">')


def hidden_fields(page: httpx.Response) -> dict[str, str]:
    """The hidden fields of the page's forms (the last one wins, as every form carries the same token)."""
    return {match["name"]: html.unescape(match["value"]) for match in _HIDDEN.finditer(page.text)}


def text_of(page: httpx.Response) -> str:
    """The page's visible words, tags dropped and whitespace folded, for assertions on what a reader sees."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page.text, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


class Browser:
    """One visitor's browser: its own cookie jar over the app (``client`` shares the app, not the cookies)."""

    def __init__(
        self, client: TestClient, *, root: str = "/privacy", headers: Mapping[str, str] | None = None
    ) -> None:
        self.http = TestClient(client.app, base_url=str(client.base_url), raise_server_exceptions=False)
        self.http.headers.update(headers or {})
        self.root = root

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.http.get(self.root + path, follow_redirects=False, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, data: Mapping[str, str], *, from_page: str | None = None) -> httpx.Response:
        """Post ``data`` as the form of ``from_page`` would (its CSRF token added), or exactly ``data``."""
        fields = dict(data)
        if from_page is not None:
            fields = {"csrf_token": hidden_fields(self.get(from_page))["csrf_token"], **fields}
        return self.http.post(self.root + path, data=fields, follow_redirects=False)

    def sign_in(self, email: str, password: str) -> httpx.Response:
        return self.post("/sign-in", {"email": email, "password": password}, from_page="/sign-in")

    def sign_in_fully(self, api: Api, email: str, password: str, totp: pyotp.TOTP | None = None) -> None:
        """Sign in through both forms where a second factor is enrolled; fail the test unless signed in."""
        answer = self.sign_in(email, password)
        if totp is not None:
            assert answer.status_code == 200, answer.text
            fields = hidden_fields(answer)
            answer = self.http.post(
                self.root + "/sign-in/code",
                data={**fields, "code": api.fresh_code(totp)},
                follow_redirects=False,
            )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == self.root + "/"

    def cookie(self, name: str) -> str | None:
        return self.http.cookies.get(name)
