"""Facts for the notice tests: every field a template may show, each easy to find in the rendered text."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from privacy_service.documents.notices import NoticeFacts, Remedies, RetainedFact

SHIPPED = Path(__file__).resolve().parents[3] / "policies" / "notices"
#: The languages the shop ships besides English, which every other language falls back to.
TRANSLATIONS = ("de", "es-MX", "fr", "id", "pt-BR", "zh-CN")
#: A detail typed by an officer, which the HTML form must escape.
MARKUP = "<b>x</b> & y"

FACTS = NoticeFacts(
    request_id="01JNOTICETEST0000000000042",
    request_type="erasure",
    received_at=datetime(2027, 1, 31, 9, 30, tzinfo=UTC),
    due_at=datetime(2027, 3, 15, 9, 30, tzinfo=UTC),
    jurisdiction="EU/EEA — GDPR",
    law="Regulation (EU) 2016/679 (GDPR), Art. 12(3)",
    privacy_center_url="https://shop.example/privacy/",
    given_name="Alex",
    extension_reason="Warehouse-7 answers slowly",
    rejection_reason="other",
    rejection_detail=MARKUP,
    remedies=Remedies(
        authority="Authority-Name",
        address="Authority-Street 1",
        url="https://authority.example/complaints",
        courts="Court-Name",
    ),
    outcome="completed",
    export_until=datetime(2027, 4, 20, tzinfo=UTC),
    retained=(
        RetainedFact(
            system="invoicing", category="Category-Invoices", reason="Reason-Tax-Code", until="2035-12-31"
        ),
        RetainedFact(system="orders", category="Category-Orders", reason="Reason-Commercial-Code"),
    ),
)


def facts(**changes: Any) -> NoticeFacts:
    """``FACTS`` with some fields changed."""
    return replace(FACTS, **changes)


def copy_of_english(directory: Path) -> Path:
    """A notices directory holding only the shipped English templates (and the summary's layout), to break."""
    notices = directory / "notices"
    shutil.copytree(SHIPPED / "en", notices / "en")
    shutil.copy(SHIPPED / "summary-layout.html", notices / "summary-layout.html")
    return notices
