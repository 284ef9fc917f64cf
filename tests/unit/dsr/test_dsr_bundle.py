"""The export bundle: the same answers give the same bytes, a truthful manifest, an inert summary."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from privacy_service.dsr.bundle import SystemPart, build_bundle
from privacy_service.dsr.models import DsrRequest

RECEIVED_AT = datetime(2026, 1, 15, 12, tzinfo=UTC)
GENERATED_AT = datetime(2026, 1, 16, 9, 30, tzinfo=UTC)
OWN = {"profile": {"email": "ada@example.net", "given_name": "Ada"}, "records": {}, "login_history": []}
HOSTILE_SYSTEM = "<script>alert('system')</script>"
HOSTILE_REASON = "<img src=x onerror=alert(1)> & HGB §257"


def request() -> DsrRequest:
    return DsrRequest(id="01REQUEST", type="access", status="completed", subject_id="01SUBJECT",
                      jurisdiction="eu_gdpr", received_at=RECEIVED_AT, due_at=RECEIVED_AT,
                      filed_by_type="user", filed_by_id="01SUBJECT")  # fmt: skip


def parts() -> list[SystemPart]:
    return [
        SystemPart(system="orders", status="completed", data={"orders": [{"id": "o-1", "total": "12.50"}]},
                   retained=[], error=None),
        SystemPart(system="invoices", status="completed", data={"invoices": ["R-2025-17"]}, error=None,
                   retained=[{"category": "invoices", "reason": "HGB §257", "until": "2036-12-31"}]),
        SystemPart(system="mailing", status="failed", data=None, retained=[],
                   error="timed out; no attempt left before the deadline"),
    ]  # fmt: skip


def files(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_same_request_and_answers_give_the_same_bytes() -> None:
    first = build_bundle(request=request(), generated_at=GENERATED_AT, own=OWN, systems=parts())
    second = build_bundle(request=request(), generated_at=GENERATED_AT, own=dict(OWN), systems=parts())
    assert first == second
    different = build_bundle(request=request(), generated_at=GENERATED_AT, own=OWN, systems=parts()[:1])
    assert different != first


def test_the_manifest_lists_every_other_file_with_its_true_size_and_sha256() -> None:
    content = files(build_bundle(request=request(), generated_at=GENERATED_AT, own=OWN, systems=parts()))
    manifest = json.loads(content.pop("manifest.json"))
    listed = {item["path"]: item for item in manifest["files"]}
    assert set(listed) == set(content)
    assert set(content) == {
        "summary.html",
        "data/privacy-service.json",
        "data/orders.json",
        "data/invoices.json",
    }
    for path, data in content.items():
        assert listed[path]["size"] == len(data), path
        assert listed[path]["sha256"] == hashlib.sha256(data).hexdigest(), path


def test_the_manifest_says_how_each_system_answered_and_what_it_keeps() -> None:
    content = files(build_bundle(request=request(), generated_at=GENERATED_AT, own=OWN, systems=parts()))
    manifest: dict[str, Any] = json.loads(content["manifest.json"])
    by_system = {item["system"]: item for item in manifest["systems"]}
    assert by_system["mailing"]["status"] == "failed"
    assert "timed out" in by_system["mailing"]["error"]
    assert by_system["invoices"]["retained"] == [
        {"category": "invoices", "reason": "HGB §257", "until": "2036-12-31"}
    ]
    assert json.loads(content["data/orders.json"])["data"]["orders"][0]["id"] == "o-1"
    assert json.loads(content["data/privacy-service.json"])["profile"]["email"] == "ada@example.net"


def test_the_summary_escapes_html_in_system_names_and_in_what_they_said() -> None:
    hostile = [
        SystemPart(system=HOSTILE_SYSTEM, status="completed", data={}, error=None, retained=[
            {"category": "<b>invoices</b>", "reason": HOSTILE_REASON, "until": "<i>2036</i>"},
        ]),
    ]  # fmt: skip
    content = files(build_bundle(request=request(), generated_at=GENERATED_AT, own=OWN, systems=hostile))
    summary = content["summary.html"].decode()
    assert "<script>" not in summary
    assert "<img" not in summary
    assert "<b>invoices" not in summary
    assert "<i>2036" not in summary
    assert "&lt;script&gt;alert(&#x27;system&#x27;)&lt;/script&gt;" in summary
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; HGB §257" in summary
