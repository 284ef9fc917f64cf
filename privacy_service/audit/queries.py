"""The audit trail's read side: filtered pages of events and checkpoints, and a streaming walk for export.

Events come in one stable order: sealed events by ``seq``, then the events not
yet sealed by ``(at, id)``. A cursor names the position after a page's last
event. While a walk is in the sealed part it goes on by ``seq``; once it has
reached the unsealed tail it goes on by ``(at, id)`` and also takes events
sealed since the walk passed the sealed part (``seq`` above the last one it
saw), so an event sealed between two pages is still listed exactly once.

Details are opened with the subject's key; once the subject was erased (the key
shredded) they are withheld, never an error: the event itself stays listed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from privacy_service.audit.actions import DetailsState, Outcome
from privacy_service.audit.canonical import format_instant
from privacy_service.audit.models import AuditCheckpoint, AuditEvent
from privacy_service.audit.recorder import open_details
from privacy_service.crypto import CryptoError
from privacy_service.keys.errors import SubjectKeyDestroyed, SubjectKeyNotFound
from privacy_service.work import Work

EXPORT_BATCH_SIZE: Final = 500
_PARTY_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CURSOR_MAX_LENGTH: Final = 400


class InvalidQuery(ValueError):
    """A filter or cursor the read side cannot use; ``field`` names the offending query parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class PartyFilter:
    """An actor or target to match: by id alone, or by type and id (``type:id``)."""

    id: str
    type: str | None = None

    @classmethod
    def parse(cls, value: str, *, field: str) -> PartyFilter:
        """``id`` or ``type:id``; the type is everything before the first colon, the id all after it."""
        party_type, colon, party_id = value.partition(":")
        if not colon:
            party_type, party_id = "", value
        elif not _PARTY_TYPE.fullmatch(party_type):
            raise InvalidQuery(field, "expected an id or type:id, with a lower-case type")
        if not party_id:
            raise InvalidQuery(field, "the id is empty")
        return cls(id=party_id, type=party_type or None)

    def __str__(self) -> str:
        return self.id if self.type is None else f"{self.type}:{self.id}"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to list; every filter given must match. ``since`` is inclusive, ``until`` exclusive."""

    actor: PartyFilter | None = None
    action: str | None = None
    target: PartyFilter | None = None
    outcome: Outcome | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None and moment.utcoffset() is None:
                raise InvalidQuery(name, "a time needs its UTC offset (RFC 3339)")
        if self.since is not None and self.until is not None and self.until < self.since:
            raise InvalidQuery("until", "until is before since")

    def to_json(self) -> dict[str, str]:
        """The filters in use, as the audit_read event records them (ids and names only)."""
        used: dict[str, str] = {}
        if self.actor is not None:
            used["actor"] = str(self.actor)
        if self.action is not None:
            used["action"] = self.action
        if self.target is not None:
            used["target"] = str(self.target)
        if self.outcome is not None:
            used["outcome"] = self.outcome.value
        if self.since is not None:
            used["since"] = format_instant(self.since)
        if self.until is not None:
            used["until"] = format_instant(self.until)
        return used


@dataclass(frozen=True, slots=True)
class SealedPosition:
    """After the sealed event ``seq``."""

    seq: int


@dataclass(frozen=True, slots=True)
class UnsealedPosition:
    """After the event ``(at, id)`` of the unsealed tail, reached once the walk saw sealed ``seq`` up to
    ``last_seq``."""

    last_seq: int
    at: datetime
    id: str


EventPosition = SealedPosition | UnsealedPosition


@dataclass(frozen=True, slots=True)
class EventView:
    """One event as the read side shows it, its details opened where they still can be."""

    id: str
    seq: int | None
    at: datetime
    actor_type: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    request_id: str | None
    hash: str | None
    prev_hash: str | None
    sealed_at: datetime | None
    details: dict[str, Any] | None
    details_state: DetailsState
    recorded_by: str | None = None  # the client that recorded a shop's own event


@dataclass(frozen=True, slots=True)
class EventPage:
    items: list[EventView]
    next_position: EventPosition | None


@dataclass(frozen=True, slots=True)
class CheckpointPage:
    items: list[AuditCheckpoint]
    next_number: int | None


# -- cursors ---------------------------------------------------------------------------------------


def _encode(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(cursor: str) -> dict[str, Any]:
    if len(cursor) > _CURSOR_MAX_LENGTH:
        raise InvalidQuery("cursor", "not a cursor this list issued")
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidQuery("cursor", "not a cursor this list issued") from None
    if not isinstance(value, dict):
        raise InvalidQuery("cursor", "not a cursor this list issued")
    return value


def _whole_number(value: object) -> int:
    if type(value) is not int or value < 0:
        raise InvalidQuery("cursor", "not a cursor this list issued")
    return value


def event_cursor(position: EventPosition) -> str:
    """An opaque cursor for ``position``; it names events by seq, time and id only."""
    if isinstance(position, SealedPosition):
        return _encode({"s": position.seq})
    return _encode({"q": position.last_seq, "a": format_instant(position.at), "i": position.id})


def event_position(cursor: str) -> EventPosition:
    """The position an ``event_cursor`` names; InvalidQuery for anything else."""
    value = _decode(cursor)
    if value.keys() == {"s"}:
        return SealedPosition(seq=_whole_number(value["s"]))
    if value.keys() == {"q", "a", "i"} and isinstance(value["a"], str) and isinstance(value["i"], str):
        try:
            at = datetime.fromisoformat(value["a"])
        except ValueError:
            raise InvalidQuery("cursor", "not a cursor this list issued") from None
        if at.utcoffset() is None or not value["i"]:
            raise InvalidQuery("cursor", "not a cursor this list issued")
        return UnsealedPosition(last_seq=_whole_number(value["q"]), at=at, id=value["i"])
    raise InvalidQuery("cursor", "not a cursor this list issued")


def checkpoint_cursor(number: int) -> str:
    return _encode({"n": number})


def checkpoint_number(cursor: str) -> int:
    """The checkpoint number a ``checkpoint_cursor`` names; InvalidQuery for anything else."""
    value = _decode(cursor)
    if value.keys() != {"n"}:
        raise InvalidQuery("cursor", "not a cursor this list issued")
    return _whole_number(value["n"])


# -- events ----------------------------------------------------------------------------------------


def _filtered(filters: EventFilter) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if filters.actor is not None:
        query = query.where(AuditEvent.actor_id == filters.actor.id)
        if filters.actor.type is not None:
            query = query.where(AuditEvent.actor_type == filters.actor.type)
    if filters.target is not None:
        query = query.where(AuditEvent.target_id == filters.target.id)
        if filters.target.type is not None:
            query = query.where(AuditEvent.target_type == filters.target.type)
    if filters.action is not None:
        query = query.where(AuditEvent.action == filters.action)
    if filters.outcome is not None:
        query = query.where(AuditEvent.outcome == filters.outcome.value)
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    return query


def list_events(
    work: Work, *, filters: EventFilter, limit: int, after: EventPosition | None = None
) -> EventPage:
    """At most ``limit`` events matching ``filters`` after ``after``, in the module's order."""
    if limit < 1:
        raise ValueError("a page holds at least one event")
    sealed: list[AuditEvent] = []
    if not isinstance(after, UnsealedPosition):
        query = _filtered(filters).where(AuditEvent.seq.is_not(None))
        if after is not None:
            query = query.where(AuditEvent.seq > after.seq)
        # One more than the page holds: whether it comes back says if there is a next page.
        sealed = list(work.session.scalars(query.order_by(AuditEvent.seq).limit(limit + 1)))
    # The highest seq this walk has gone through: sealed events above it have not been listed yet.
    if isinstance(after, UnsealedPosition):
        last_seq = after.last_seq
    elif sealed:
        last_seq = sealed[-1].seq or 0
    else:
        last_seq = after.seq if after is not None else 0
    unsealed: list[AuditEvent] = []
    if len(sealed) <= limit:
        query = _filtered(filters).where(or_(AuditEvent.seq.is_(None), AuditEvent.seq > last_seq))
        if isinstance(after, UnsealedPosition):
            query = query.where(
                or_(AuditEvent.at > after.at, and_(AuditEvent.at == after.at, AuditEvent.id > after.id))
            )
        unsealed = list(
            work.session.scalars(query.order_by(AuditEvent.at, AuditEvent.id).limit(limit + 1 - len(sealed)))
        )
    events = (sealed + unsealed)[:limit]
    next_position: EventPosition | None = None
    if len(sealed) + len(unsealed) > limit:
        last = events[-1]
        if len(events) <= len(sealed):
            assert last.seq is not None
            next_position = SealedPosition(seq=last.seq)
        else:
            next_position = UnsealedPosition(last_seq=last_seq, at=last.at, id=last.id)
    return EventPage(items=_views(work, events=events), next_position=next_position)


def iter_events(
    work: Work, *, filters: EventFilter, batch_size: int = EXPORT_BATCH_SIZE
) -> Iterator[EventView]:
    """Every event matching ``filters``, in the module's order, read ``batch_size`` at a time."""
    after: EventPosition | None = None
    while True:
        page = list_events(work, filters=filters, limit=batch_size, after=after)
        yield from page.items
        if page.next_position is None:
            return
        after = page.next_position


def _views(work: Work, *, events: Sequence[AuditEvent]) -> list[EventView]:
    subject_ids = sorted({e.subject_id for e in events if e.subject_id is not None and e.details is not None})
    # One query for the page's keys; erased subjects (shredded keys) are left out of the answer.
    live_keys = (
        work.keyring.for_subjects(session=work.session, subject_ids=subject_ids) if subject_ids else {}
    )
    views = []
    for event in events:
        details, state = _details(work, event=event, live=live_keys.keys())
        views.append(
            EventView(
                id=event.id,
                seq=event.seq,
                at=event.at,
                actor_type=event.actor_type,
                actor_id=event.actor_id,
                action=event.action,
                target_type=event.target_type,
                target_id=event.target_id,
                outcome=event.outcome,
                request_id=event.request_id,
                hash=event.hash,
                prev_hash=event.prev_hash,
                sealed_at=event.sealed_at,
                details=details,
                details_state=state,
                recorded_by=event.recorded_by,
            )
        )
    return views


def _details(
    work: Work, *, event: AuditEvent, live: Container[str]
) -> tuple[dict[str, Any] | None, DetailsState]:
    if event.details is None:
        return None, DetailsState.NONE
    if event.subject_id is not None and event.subject_id not in live:
        return None, DetailsState.ERASED
    try:
        return open_details(work, event=event), DetailsState.AVAILABLE
    except (SubjectKeyDestroyed, SubjectKeyNotFound):
        return None, DetailsState.ERASED  # erased between the key query and now
    except (CryptoError, ValueError):
        # Altered ciphertext or JSON: the listing goes on; verify_chain locates the alteration.
        return None, DetailsState.UNREADABLE


# -- checkpoints -----------------------------------------------------------------------------------


def list_checkpoints(*, session: Session, limit: int, after: int | None = None) -> CheckpointPage:
    """At most ``limit`` signed checkpoints by number, oldest first, after checkpoint ``after``."""
    if limit < 1:
        raise ValueError("a page holds at least one checkpoint")
    query = select(AuditCheckpoint)
    if after is not None:
        query = query.where(AuditCheckpoint.number > after)
    rows = list(session.scalars(query.order_by(AuditCheckpoint.number).limit(limit + 1)))
    items = rows[:limit]
    return CheckpointPage(items=items, next_number=items[-1].number if len(rows) > limit else None)
