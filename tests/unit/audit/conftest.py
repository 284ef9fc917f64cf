"""Audit test helpers: events recorded through the service, sealed, and ways around the guards to tamper."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from privacy_service.audit import Action, Outcome, Party, PartyType, record, seal_pending_events
from privacy_service.audit.models import AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.work import Work
from tests.unit.audit.tampering import TestSigner

STAFF = Party(type=PartyType.USER, id="staff-1")
CLIENT = Party(type=PartyType.CLIENT, id="client-1")

RecordEvents = Callable[[int], list[AuditEvent]]


@pytest.fixture
def record_events(session: Session, clock: FrozenClock, work: Work) -> RecordEvents:
    """Record ``count`` events about clients (no subject's key needed), one millisecond apart."""

    def record_events(count: int) -> list[AuditEvent]:
        recorded = []
        for index in range(count):
            event_id = record(
                work,
                actor=CLIENT,
                action=Action.CLIENT_CREATE,
                target=Party(type=PartyType.CLIENT, id=f"client-{index}"),
                outcome=Outcome.SUCCESS,
                request_id=f"req-{index}",
                details={"index": index},
            )
            recorded.append(event_id)
            clock.advance(timedelta(milliseconds=1))
        work.commit()  # events are written as their unit of work commits
        return [session.get_one(AuditEvent, event_id) for event_id in recorded]

    return record_events


@pytest.fixture
def sealed_chain(record_events: RecordEvents, work: Work) -> list[AuditEvent]:
    """Five sealed events, seq 1 to 5."""
    events = record_events(5)
    assert seal_pending_events(work, batch_size=100) == 5
    return sorted(events, key=lambda event: event.seq or 0)


@pytest.fixture
def signer(session: Session, clock: FrozenClock) -> TestSigner:
    return TestSigner(session, clock)
