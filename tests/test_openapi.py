"""openapi/openapi.json is generated from the code; this fails when the two drift apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from privacy_service.core.config import Settings
from privacy_service.main import openapi_document

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
PROBLEM = "application/problem+json"
OAUTH_ERROR = "application/json"
OAUTH_PATHS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")
REGENERATE = "regenerate it: .venv/bin/privacy-service openapi > openapi/openapi.json"


def test_the_committed_openapi_document_matches_the_code(settings: Settings) -> None:
    assert COMMITTED.exists(), f"openapi/openapi.json is missing; {REGENERATE}"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == openapi_document(settings), f"openapi/openapi.json is out of date; {REGENERATE}"


def test_every_error_response_outside_oauth_is_documented_as_a_problem(settings: Settings) -> None:
    document = openapi_document(settings)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) or status == "default":
                    content = response.get("content", {})
                    expected = OAUTH_ERROR if _is_oauth_error(path, status) else PROBLEM
                    assert list(content) == [expected], f"{method.upper()} {path} {status}"


def test_the_oauth_errors_are_documented_as_rfc_6749_json_with_the_basic_challenge(
    settings: Settings,
) -> None:
    document = openapi_document(settings)
    error_schema = document["components"]["schemas"]["OAuthErrorBody"]
    assert set(error_schema["required"]) == {"error", "error_description"}
    for path in OAUTH_PATHS:
        responses = document["paths"][path]["post"]["responses"]
        assert {"400", "401", "429"} <= responses.keys(), path
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
        unauthorized = responses["401"]
        assert unauthorized["content"][OAUTH_ERROR]["schema"] == {
            "$ref": "#/components/schemas/OAuthErrorBody"
        }
        assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True
        # What the edge answers before the route runs (413, 5xx) is still a problem.
        assert list(responses["default"]["content"]) == [PROBLEM]


def test_the_oauth_form_bodies_name_their_fields(settings: Settings) -> None:
    document = openapi_document(settings)

    def form(path: str) -> dict[str, Any]:
        body = document["paths"][path]["post"]["requestBody"]
        schema: dict[str, Any] = body["content"]["application/x-www-form-urlencoded"]["schema"]
        return schema

    grants = {
        variant["properties"]["grant_type"]["const"]: variant for variant in form("/oauth/token")["oneOf"]
    }
    assert set(grants) == {"client_credentials", "refresh_token"}
    assert grants["refresh_token"]["required"] == ["grant_type", "refresh_token"]
    for path in ("/oauth/revoke", "/oauth/introspect"):
        schema = form(path)
        assert schema["required"] == ["token"]
        assert {"token", "token_type_hint", "client_id", "client_secret"} <= schema["properties"].keys()


def test_the_audit_time_filters_are_documented_as_date_times(settings: Settings) -> None:
    document = openapi_document(settings)
    for path in ("/v1/audit/events", "/v1/audit/events/export"):
        parameters = {
            parameter["name"]: parameter for parameter in document["paths"][path]["get"]["parameters"]
        }
        for name in ("since", "until"):
            variants = parameters[name]["schema"]["anyOf"]
            assert {"type": "string", "format": "date-time"} in variants, (path, name)


def _is_oauth_error(path: str, status: str) -> bool:
    return path in OAUTH_PATHS and status in {"400", "401", "429"}
