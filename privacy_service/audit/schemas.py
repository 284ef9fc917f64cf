"""The shapes of the audit trail's answers at the HTTP edge (API.md "Audit trail").

Plain pydantic models that the routes fill (``api/routes/audit.py``): a schema
imports no ORM model and no service (an import-linter contract holds it), so
what a response shows is decided where the response is made. Times are
RFC 3339 in UTC with six fraction digits, as the chain hashes them
(``audit.canonical.format_instant``); ``hash`` and ``prev_hash`` are null
until the sealer has chained the event.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from privacy_service.audit.actions import DetailsState


class PartyRef(BaseModel):
    type: str
    id: str


class AuditEventItem(BaseModel):
    id: str
    seq: int | None = Field(description="Position in the hash chain; null until sealed.")
    at: str
    actor: PartyRef
    action: str
    target: PartyRef
    outcome: str
    request_id: str | None
    hash: str | None
    prev_hash: str | None
    sealed_at: str | None
    details: dict[str, Any] | None = Field(
        description="Null when the event has none, or when they are withheld (see details_state)."
    )
    details_state: DetailsState = Field(
        description="available, none, erased (the subject was erased: their key is shredded) or "
        "unreadable (the stored ciphertext does not open; GET /v1/audit/verify locates it)."
    )
    recorded_by: str | None = Field(
        default=None,
        description="The client that recorded a shop's own event (POST /v1/audit/events), hashed with "
        "it; null for the service's own events.",
    )


class AuditEventPage(BaseModel):
    items: list[AuditEventItem]
    next_cursor: str | None = None


class CheckpointItem(BaseModel):
    """A signed checkpoint: Ed25519 over the canonical statement (audit/canonical.py), hex-encoded."""

    number: int
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str


class CheckpointPage(BaseModel):
    items: list[CheckpointItem]
    next_cursor: str | None = None


class CheckpointSummaryView(BaseModel):
    number: int
    seq: int
    hash: str
    at: str
    key_id: str


class VerificationView(BaseModel):
    ok: bool
    events_checked: int
    last_seq: int | None
    last_checkpoint: CheckpointSummaryView | None
    first_bad_seq: int | None
    problem: str | None = Field(
        description="altered, missing, inserted, reordered, truncated, checkpoint_mismatch, "
        "checkpoint_missing or bad_signature; null when ok."
    )
    archived_through: int | None = Field(
        default=None,
        description="The last seq that retention removed into a signed archive (`privacy-service audit "
        "archive`); the chain is verified from that archive's hash. null when nothing was archived.",
    )


#: The columns of the CSV export, in order; ``details`` holds the details as a JSON string.
CSV_COLUMNS = (
    "id",
    "seq",
    "at",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "request_id",
    "hash",
    "prev_hash",
    "sealed_at",
    "details_state",
    "details",
    "recorded_by",
)

# OWASP "CSV Injection": a cell starting with one of these runs as a formula in a spreadsheet. Request ids
# and shops' parties are caller-chosen, so such a cell is prefixed with a quote (JSON lines stay exact).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


EXPORT_MEDIA_TYPES = {
    ExportFormat.JSONL: "application/jsonl",
    ExportFormat.CSV: "text/csv; charset=utf-8; header=present",
}


def jsonl_lines(items: Iterable[AuditEventItem]) -> Iterator[bytes]:
    """One JSON object a line (JSON Lines), each the item as ``GET /v1/audit/events`` shows it."""
    for item in items:
        yield item.model_dump_json().encode() + b"\n"


def csv_lines(items: Iterable[AuditEventItem]) -> Iterator[bytes]:
    """RFC 4180 CSV: a header row of ``CSV_COLUMNS``, then one row an event; empty cells for nulls."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        line = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return line

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for item in items:
        details = None if item.details is None else json.dumps(item.details, sort_keys=True)
        row = (
            item.id,
            item.seq,
            item.at,
            item.actor.type,
            item.actor.id,
            item.action,
            item.target.type,
            item.target.id,
            item.outcome,
            item.request_id,
            item.hash,
            item.prev_hash,
            item.sealed_at,
            item.details_state.value,
            details,
            item.recorded_by,
        )
        writer.writerow([_csv_cell(value) for value in row])
        yield flush()
