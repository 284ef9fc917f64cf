"""openapi/openapi.json is generated from the code; this fails when the two drift apart."""

from __future__ import annotations

import json
from pathlib import Path

from privacy_service.core.config import Settings
from privacy_service.main import openapi_document

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
REGENERATE = "regenerate it: .venv/bin/privacy-service openapi > openapi/openapi.json"


def test_the_committed_openapi_document_matches_the_code(settings: Settings) -> None:
    assert COMMITTED.exists(), f"openapi/openapi.json is missing; {REGENERATE}"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == openapi_document(settings), f"openapi/openapi.json is out of date; {REGENERATE}"


def test_every_error_response_is_documented_as_a_problem(settings: Settings) -> None:
    document = openapi_document(settings)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and status != "422":
                    content = response.get("content", {})
                    assert "application/problem+json" in content, f"{method.upper()} {path} {status}"
