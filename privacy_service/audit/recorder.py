"""``record``: the one way to write an audit event, inside the caller's transaction.

The event is written unsealed (no ``seq`` or hash yet), so recording takes no
lock on the chain's head and concurrent business transactions never queue
behind each other; the sealer chains committed events within about a second.
An event exists exactly when the change it describes committed.

The event is not added to the ORM session (it is never changed by the code
that records it) but to the unit of work's rows at commit
(``Work.insert_at_commit``): it is sent as the unit of work commits, and on
PostgreSQL in the COMMIT's own round trip, so an audited transaction makes no more round trips than the same
transaction unaudited. As a statement of its own, the event held
``benchmarks/audit_append.py`` at 0.62-0.85x the throughput of the same
transactions without events; sent with the COMMIT, 0.79-0.89x best rounds
and 0.84-0.93x paired medians in five runs on the machine where it gave
0.62x. An event therefore cannot be read back by the transaction that
records it, which none does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from privacy_service.audit.actions import Action, Outcome, Party, ShopAction, ShopParty
from privacy_service.audit.models import AuditEvent
from privacy_service.core.ids import new_id
from privacy_service.work import InsertAtCommit, Work

DETAILS_TABLE = "audit_events"
DETAILS_COLUMN = "details"

_EVENTS = InsertAtCommit(
    AuditEvent,
    columns=(
        "id", "at", "actor_type", "actor_id", "action", "target_type", "target_id",
        "outcome", "request_id", "subject_id", "details",
    ),
)  # fmt: skip
_SHOP_EVENTS = InsertAtCommit(
    AuditEvent,
    columns=(
        "id", "at", "actor_type", "actor_id", "action", "target_type", "target_id",
        "outcome", "request_id", "subject_id", "details", "recorded_by",
    ),
)  # fmt: skip


def subject_of(*, actor: Party | ShopParty, target: Party | ShopParty) -> str | None:
    """The data subject whose key encrypts the details: the target if it is one, else the actor if it is."""
    for party in (target, actor):
        if party.is_subject:
            return party.id
    return None


def record(
    work: Work,
    *,
    actor: Party,
    action: Action,
    target: Party,
    outcome: Outcome,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """Write an unsealed event as ``work`` commits, and return its id.

    When the event names a data subject (a ``user`` or ``subject`` party),
    ``details`` are encrypted under that subject's data key, so erasing the subject
    makes them unreadable while the chain stays verifiable; otherwise they are
    stored as plain JSON and must hold no personal data.
    """
    event_id = new_id()
    work.insert_at_commit(
        _EVENTS,
        _row(
            work,
            event_id=event_id,
            actor=actor,
            action=action.value,
            target=target,
            outcome=outcome,
            request_id=request_id,
            details=details,
        ),
    )
    return event_id


def record_shop_event(
    work: Work,
    *,
    recorded_by: str,
    actor: ShopParty,
    action: ShopAction,
    target: ShopParty,
    outcome: Outcome,
    details: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> str:
    """Write an unsealed event a shop performed, recorded by the client ``recorded_by``; return its id.

    As ``record``, details are encrypted under the subject's key when a party is
    a data subject (``user``); the recording client is hashed with the event
    (``canonical.py``, version 2). ``event_id`` lets the caller name the event
    before it is written (an idempotency key's stored answer).
    """
    event_id = new_id() if event_id is None else event_id
    row = _row(
        work,
        event_id=event_id,
        actor=actor,
        action=action.value,
        target=target,
        outcome=outcome,
        request_id=None,
        details=details,
    )
    work.insert_at_commit(_SHOP_EVENTS, {**row, "recorded_by": recorded_by})
    return event_id


def _row(
    work: Work,
    *,
    event_id: str,
    actor: Party | ShopParty,
    action: str,
    target: Party | ShopParty,
    outcome: Outcome,
    request_id: str | None,
    details: Mapping[str, Any] | None,
) -> dict[str, Any]:
    subject_id = subject_of(actor=actor, target=target)
    stored: bytes | None = None
    if details is not None:
        if subject_id is None:
            stored = json.dumps(dict(details), sort_keys=True, separators=(",", ":")).encode()
        else:
            fields = work.subject_fields(table=DETAILS_TABLE, subject_id=subject_id)
            stored = fields.encrypt_json(DETAILS_COLUMN, dict(details))
    return {
        "id": event_id,
        "at": work.clock.now(),
        "actor_type": actor.type_name,
        "actor_id": actor.id,
        "action": action,
        "target_type": target.type_name,
        "target_id": target.id,
        "outcome": outcome.value,
        "request_id": request_id if request_id is not None else work.request_id,
        "subject_id": subject_id,
        "details": stored,
    }


def open_details(work: Work, *, event: AuditEvent) -> dict[str, Any] | None:
    """The event's details as a dict; raises SubjectKeyDestroyed once the subject was erased."""
    if event.details is None:
        return None
    if event.subject_id is None:
        value: dict[str, Any] = json.loads(event.details)
        return value
    fields = work.subject_fields(table=DETAILS_TABLE, subject_id=event.subject_id)
    return fields.open_json(DETAILS_COLUMN, event.details)
