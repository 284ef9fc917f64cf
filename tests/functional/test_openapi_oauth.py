"""The OAuth endpoints answer as the OpenAPI document says they do: errors included (RFC 6749 §5.2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.functional.conftest import Api, Shop


def documented(api: Api, path: str, status: int) -> dict[str, Any]:
    response: dict[str, Any] = api.http.get("/openapi.json").json()["paths"][path]["post"]["responses"][
        str(status)
    ]
    return response


def assert_as_documented(api: Api, path: str, answer: httpx.Response) -> None:
    response = documented(api, path, answer.status_code)
    media_type = answer.headers["content-type"].split(";")[0]
    assert media_type in response["content"], (path, answer.status_code, media_type)
    for name, header in response.get("headers", {}).items():
        if header.get("required"):
            assert name.lower() in answer.headers, (path, answer.status_code, name)
    schema = api.http.get("/openapi.json").json()["components"]["schemas"]["OAuthErrorBody"]
    assert set(answer.json()) == set(schema["required"])


@pytest.mark.parametrize("path", ["token", "revoke", "introspect"])
def test_a_request_that_is_not_a_form_is_answered_as_the_documented_400(api: Api, path: str) -> None:
    answer = api.http.post(f"/oauth/{path}", json={"token": "x"}, auth=api.shop.basic)
    assert answer.status_code == 400
    assert_as_documented(api, f"/oauth/{path}", answer)


@pytest.mark.parametrize("path", ["token", "revoke", "introspect"])
def test_a_wrong_client_secret_is_answered_as_the_documented_401(api: Api, shop: Shop, path: str) -> None:
    answer = api.oauth(
        path, {"grant_type": "client_credentials", "token": "x"}, auth=(shop.client_id, "wrong")
    )
    assert answer.status_code == 401
    assert_as_documented(api, f"/oauth/{path}", answer)


def test_the_client_authentication_throttle_is_answered_as_the_documented_429(api: Api, shop: Shop) -> None:
    for _ in range(20):
        api.oauth("token", {"grant_type": "client_credentials"}, auth=(shop.client_id, "guess"))
    answer = api.oauth("introspect", {"token": "x"})
    assert answer.status_code == 429
    assert_as_documented(api, "/oauth/introspect", answer)
