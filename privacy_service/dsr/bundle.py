"""The export bundle that answers an access request (GDPR Art. 15, and Art. 20 in a machine-readable form).

A ZIP holding ``manifest.json`` (every other file with its size and SHA-256,
and how each system answered), one ``data/<system>.json`` per system that
answered, ``data/privacy-service.json`` (what this service holds: profile,
records by category, including consents a shop recorded as such, login
history, and the subject's requests), and a short human-readable
``summary.html``. It is stored encrypted under the subject's data key until it
expires, so erasing the subject also makes any copy of it unreadable.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from privacy_service.dsr.encryption import BUNDLE_COLUMN, RESULT_COLUMN
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrExport, DsrRequest, DsrTask
from privacy_service.dsr.states import TaskStatus
from privacy_service.identity.sessions import list_sessions
from privacy_service.keys.fields import SubjectFields
from privacy_service.vault import service as vault
from privacy_service.work import Work

OWN_SYSTEM = "privacy-service"
# A fixed time for every entry, so the same content gives the same bytes (and the same digest).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=_instant).encode()


def _instant(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot export {type(value).__name__}")


def _fields(work: Work, *, fulfilment: Fulfilment, table: str, subject_id: str) -> SubjectFields:
    return work.subject_fields(table=table, subject_id=subject_id)


def own_data(work: Work, *, fulfilment: Fulfilment, subject_id: str) -> dict[str, Any]:
    """What privacy-service itself holds about the subject."""
    profile = vault.read_profile(work, subject_id=subject_id)
    records = {
        category: vault.get_record(work, subject_id=subject_id, category=category)
        for category in vault.list_categories(work, subject_id=subject_id)
    }
    logins = [
        {
            "session_id": view.id,
            "client_id": view.client_id,
            "signed_in_at": view.created_at,
            "last_used_at": view.last_used_at,
            "ended_at": view.revoked_at,
            "methods": [str(method) for method in view.amr],
            "user_agent": view.user_agent,
        }
        for view in list_sessions(work, user_id=subject_id, include_ended=True)
    ]
    requests = [
        {
            "id": row.id,
            "type": row.type,
            "status": row.status,
            "received_at": row.received_at,
            "due_at": row.due_at,
            "completed_at": row.completed_at,
        }
        for row in work.session.scalars(
            select(DsrRequest).where(DsrRequest.subject_id == subject_id).order_by(DsrRequest.received_at)
        )
    ]
    return {
        "profile": profile.model_dump(mode="json"),
        "records": records,
        "consents": records.get("consent"),
        "login_history": logins,
        "requests": requests,
    }


@dataclass(frozen=True)
class SystemPart:
    system: str
    status: str
    data: dict[str, Any] | None
    retained: list[dict[str, Any]]
    error: str | None


def build_bundle(
    *, request: DsrRequest, generated_at: datetime, own: dict[str, Any], systems: list[SystemPart]
) -> bytes:
    """The ZIP bytes; deterministic for the same inputs."""
    files: dict[str, bytes] = {f"data/{OWN_SYSTEM}.json": _json_bytes(own)}
    for part in systems:
        if part.data is not None:
            files[f"data/{part.system}.json"] = _json_bytes({"data": part.data, "retained": part.retained})
    files["summary.html"] = _summary(request=request, generated_at=generated_at, systems=systems).encode()
    manifest = {
        "request_id": request.id,
        "subject_id": request.subject_id,
        "jurisdiction": request.jurisdiction,
        "received_at": request.received_at,
        "generated_at": generated_at,
        "files": [
            {"path": path, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
            for path, content in sorted(files.items())
        ],
        "systems": [
            {"system": part.system, "status": part.status, "retained": part.retained, "error": part.error}
            for part in systems
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in [("manifest.json", _json_bytes(manifest)), *sorted(files.items())]:
            archive.writestr(zipfile.ZipInfo(path, date_time=_ZIP_TIME), content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _summary(*, request: DsrRequest, generated_at: datetime, systems: list[SystemPart]) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(part.system)}</td><td>{html.escape(part.status)}</td>"
        f"<td>{html.escape(_retained_text(part.retained))}</td></tr>"
        for part in systems
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your personal data</title></head>
<body>
<h1>Your personal data</h1>
<p>This archive answers your request {html.escape(request.id)} of {_instant(request.received_at)}
for a copy of your personal data (GDPR Art. 15 and 20). It was prepared on {_instant(generated_at)}.</p>
<p><code>data/{OWN_SYSTEM}.json</code> holds your account, profile and the records kept about you,
with your sign-in history; each other file in <code>data/</code> holds what one of the shop's systems
returned. <code>manifest.json</code> lists every file with its SHA-256 digest.</p>
<table><thead><tr><th>System</th><th>Answer</th><th>Kept under a legal obligation</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


def _retained_text(retained: list[dict[str, Any]]) -> str:
    if not retained:
        return "nothing"
    return "; ".join(
        f"{item.get('category')}: {item.get('reason')}"
        + (f" (until {item['until']})" if item.get("until") else "")
        for item in retained
    )


def store_export(work: Work, *, fulfilment: Fulfilment, request: DsrRequest) -> DsrExport:
    """Build the bundle of a finished access request and store it encrypted, downloadable until it expires."""
    fields = _fields(work, fulfilment=fulfilment, table=DsrTask.__tablename__, subject_id=request.subject_id)
    parts: list[SystemPart] = []
    for task in work.session.scalars(
        select(DsrTask).where(DsrTask.request_id == request.id).order_by(DsrTask.system)
    ):
        data = fields.open_json(RESULT_COLUMN, task.result) if task.result is not None else None
        if data is None and task.status == TaskStatus.COMPLETED.value:
            data = {}
        parts.append(
            SystemPart(
                system=task.system,
                status=task.status,
                data=data,
                retained=json.loads(task.retained) if task.retained else [],
                error=task.last_error,
            )
        )
    now = work.clock.now()
    content = build_bundle(
        request=request,
        generated_at=now,
        own=own_data(work, fulfilment=fulfilment, subject_id=request.subject_id),
        systems=parts,
    )
    export = DsrExport(
        request_id=request.id,
        subject_id=request.subject_id,
        bundle=_fields(
            work, fulfilment=fulfilment, table=DsrExport.__tablename__, subject_id=request.subject_id
        ).encrypt_bytes(BUNDLE_COLUMN, content),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        created_at=now,
        expires_at=now + fulfilment.export_lifetime,
    )
    work.session.merge(export)
    return export
