"""Reviewing the audit trail: events, their streamed export, verification of the chain, and checkpoints.

The read side (``audit.queries``, ``audit.verify``) answers in its own terms;
this module fills the plain response schemas of ``audit.schemas`` from them
(``audit.review.event_item``, ``checkpoint_item``), so a schema never imports a model.

For compliance officers signed in with a second factor only (admins are not
auditors). Every read is itself recorded as ``audit_read`` in the request's
transaction, with the filters used (ids and names only, no personal data).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from privacy_service.api.deps import SettingsDep, WorkDep, WorkplaceDep, staff_with
from privacy_service.api.paging import DEFAULT_PAGE_SIZE, Limit
from privacy_service.audit import Outcome
from privacy_service.audit.actions import PARTY_ID_LENGTH
from privacy_service.audit.canonical import format_instant
from privacy_service.audit.models import AuditCheckpoint
from privacy_service.audit.queries import (
    EventFilter,
    InvalidQuery,
    PartyFilter,
    checkpoint_cursor,
    checkpoint_number,
    event_cursor,
    event_position,
    list_checkpoints,
    list_events,
)
from privacy_service.audit.review import (
    event_item,
    export_filename,
    exported_events,
    record_read,
    verify_trail,
)
from privacy_service.audit.schemas import (
    EXPORT_MEDIA_TYPES,
    AuditEventPage,
    CheckpointItem,
    CheckpointPage,
    ExportFormat,
    VerificationView,
)
from privacy_service.identity.principals import Principal
from privacy_service.identity.scopes import Role

router = APIRouter(tags=["audit trail"])

Officer = Annotated[Principal, Depends(staff_with(Role.COMPLIANCE_OFFICER))]

PARTY_FILTER_MAX_LENGTH = 33 + PARTY_ID_LENGTH  # "type:" (a type of at most 32) and the id
Cursor = Annotated[str | None, Query(min_length=1, max_length=400)]
# An id alone, or type:id with a lower-case type (audit/queries.py PartyFilter.parse checks the same).
PartyQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=PARTY_FILTER_MAX_LENGTH,
        pattern=r"^(?:[^:]+|[a-z][a-z0-9_]{0,31}:.+)$",
        description="id, or type:id with a lower-case type",
    ),
]


def _invalid(error: InvalidQuery) -> RequestValidationError:
    """A query parameter the read side refused, answered as any other 422 naming the field."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", error.field), "msg": error.message, "input": None}]
    )


# RFC 3339 §5.6 date-time, offset required. Pydantic's own datetime also reads "0.5" or "1767225600" as
# seconds since 1970 and "2026-01-01" as midnight, which the OpenAPI document's format: date-time refuses.
_RFC3339_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339_DATE_TIME.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with its offset, e.g. 2026-01-31T23:00:00Z")
    return value


Instant = Annotated[datetime, BeforeValidator(_rfc3339)]


def event_filter(
    actor: PartyQuery = None,
    action: Annotated[
        str | None, Query(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,99}$", description="e.g. authn_login_success")
    ] = None,
    target: PartyQuery = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    since: Annotated[Instant | None, Query(description="RFC 3339; events at or after it")] = None,
    until: Annotated[Instant | None, Query(description="RFC 3339; events before it")] = None,
) -> EventFilter:
    try:
        return EventFilter(
            actor=None if actor is None else PartyFilter.parse(actor, field="actor"),
            action=action,
            target=None if target is None else PartyFilter.parse(target, field="target"),
            outcome=outcome,
            since=since,
            until=until,
        )
    except InvalidQuery as error:
        raise _invalid(error) from None


Filters = Annotated[EventFilter, Depends(event_filter)]


def checkpoint_item(checkpoint: AuditCheckpoint) -> CheckpointItem:
    """A signed checkpoint, its signature hex-encoded."""
    return CheckpointItem(
        number=checkpoint.number,
        seq=checkpoint.seq,
        hash=checkpoint.hash,
        at=format_instant(checkpoint.at),
        key_id=checkpoint.key_id,
        signature=checkpoint.signature.hex(),
    )


@router.get(
    "/v1/audit/events",
    response_model=AuditEventPage,
    summary="Audit events, filtered; sealed ones by seq, then unsealed ones by time",
)
def audit_events(
    officer: Officer, filters: Filters, work: WorkDep, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> AuditEventPage:
    try:
        after = None if cursor is None else event_position(cursor)
    except InvalidQuery as error:
        raise _invalid(error) from None
    page = list_events(work, filters=filters, limit=limit, after=after)
    record_read(work, reader=officer.party, endpoint="events", filters=filters.to_json())
    return AuditEventPage(
        items=[event_item(view) for view in page.items],
        next_cursor=None if page.next_position is None else event_cursor(page.next_position),
    )


@router.get(
    "/v1/audit/events/export",
    response_class=StreamingResponse,
    summary="Every matching audit event, streamed as JSON lines or CSV",
    responses={
        200: {
            "content": {"application/jsonl": {}, "text/csv": {}},
            "description": "JSON lines (one event a line, as in the list) or CSV with a header row.",
        }
    },
)
def export_audit_events(
    officer: Officer,
    filters: Filters,
    work: WorkDep,
    workplace: WorkplaceDep,
    format: Annotated[ExportFormat, Query()] = ExportFormat.JSONL,
) -> StreamingResponse:
    # Recorded in the request's transaction, which commits before the first byte is streamed.
    record_read(work, reader=officer.party, endpoint="export", format=format.value, filters=filters.to_json())
    filename = export_filename(work.clock.now(), format)
    return StreamingResponse(
        exported_events(workplace, filters=filters, export_format=format),
        media_type=EXPORT_MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/v1/audit/verify", response_model=VerificationView, summary="Verify the whole hash chain")
def verify_audit_trail(officer: Officer, work: WorkDep, settings: SettingsDep) -> VerificationView:
    report = verify_trail(work, settings=settings, reader=officer.party)
    return VerificationView.model_validate(report.to_json())


@router.get(
    "/v1/audit/checkpoints", response_model=CheckpointPage, summary="Signed checkpoints, oldest first"
)
def audit_checkpoints(
    officer: Officer, work: WorkDep, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> CheckpointPage:
    try:
        after = None if cursor is None else checkpoint_number(cursor)
    except InvalidQuery as error:
        raise _invalid(error) from None
    page = list_checkpoints(session=work.session, limit=limit, after=after)
    record_read(work, reader=officer.party, endpoint="checkpoints")
    return CheckpointPage(
        items=[checkpoint_item(checkpoint) for checkpoint in page.items],
        next_cursor=None if page.next_number is None else checkpoint_cursor(page.next_number),
    )
