"""The read side lists events in one stable order, pages through them exactly once, and never fails on
an erased subject."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from privacy_service.audit import Action, Outcome, Party, PartyType, record, seal_pending_events
from privacy_service.audit.actions import DetailsState
from privacy_service.audit.models import AuditEvent
from privacy_service.audit.queries import (
    EventFilter,
    EventPosition,
    InvalidQuery,
    PartyFilter,
    SealedPosition,
    UnsealedPosition,
    checkpoint_cursor,
    checkpoint_number,
    event_cursor,
    event_position,
    iter_events,
    list_checkpoints,
    list_events,
)
from privacy_service.audit.review import event_item
from privacy_service.audit.schemas import CSV_COLUMNS, csv_lines, jsonl_lines
from privacy_service.core.clock import FrozenClock
from privacy_service.keys.service import Keyring
from privacy_service.work import Work
from tests.unit.audit.conftest import CLIENT, RecordEvents
from tests.unit.audit.tampering import TestSigner, drop_guards, set_columns

EVERYTHING = EventFilter()


def walk(work: Work, *, limit: int, filters: EventFilter = EVERYTHING) -> list[str]:
    """Every page's ids in order, following the cursors (through their text form) to the end."""
    seen: list[str] = []
    after: EventPosition | None = None
    while True:
        page = list_events(work, filters=filters, limit=limit, after=after)
        assert len(page.items) <= limit
        seen += [view.id for view in page.items]
        if page.next_position is None:
            return seen
        after = event_position(event_cursor(page.next_position))


# -- filters and cursors ---------------------------------------------------------------------------


def test_a_party_filter_is_an_id_or_a_type_and_an_id() -> None:
    assert PartyFilter.parse("01abc", field="actor") == PartyFilter(id="01abc")
    assert PartyFilter.parse("user:01abc", field="actor") == PartyFilter(id="01abc", type="user")
    assert PartyFilter.parse("order:a:b", field="target") == PartyFilter(id="a:b", type="order")
    assert str(PartyFilter(id="x", type="client")) == "client:x"


@pytest.mark.parametrize("value", ["user:", "User:x", ":x", "a b:x"])
def test_a_malformed_party_filter_names_its_field(value: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        PartyFilter.parse(value, field="target")
    assert raised.value.field == "target"


def test_times_need_an_offset_and_until_may_not_precede_since() -> None:
    with pytest.raises(InvalidQuery) as naive:
        EventFilter(since=datetime(2026, 1, 1))  # noqa: DTZ001 - the naive time under test
    assert naive.value.field == "since"
    with pytest.raises(InvalidQuery) as backwards:
        EventFilter(since=datetime(2026, 1, 2, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC))
    assert backwards.value.field == "until"


def test_the_filters_recorded_for_an_audit_read_are_ids_and_names_only() -> None:
    filters = EventFilter(
        actor=PartyFilter(id="c1", type="client"),
        action="authn_login_fail",
        outcome=Outcome.FAILURE,
        since=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert filters.to_json() == {
        "actor": "client:c1",
        "action": "authn_login_fail",
        "outcome": "failure",
        "since": "2026-01-01T00:00:00.000000Z",
    }


@pytest.mark.parametrize(
    "position",
    [
        SealedPosition(seq=7),
        UnsealedPosition(last_seq=3, at=datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC), id="01x"),
    ],
)
def test_an_event_cursor_names_its_position_again(position: EventPosition) -> None:
    assert event_position(event_cursor(position)) == position


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "bm90IGpzb24",  # "not json"
        "WzFd",  # [1]
        "eyJzIjotMX0",  # {"s":-1}
        "eyJzIjoiMSJ9",  # {"s":"1"}
        "eyJzIjp0cnVlfQ",  # {"s":true}
        "eyJuIjoxfQ",  # a checkpoint cursor {"n":1}
        "eyJxIjowLCJhIjoiMjAyNi0wMS0wMVQwMDowMDowMCIsImkiOiJ4In0",  # naive time
        "x" * 500,
    ],
)
def test_anything_but_an_issued_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        event_position(cursor)
    assert raised.value.field == "cursor"


def test_a_checkpoint_cursor_names_its_number_and_nothing_else() -> None:
    assert checkpoint_number(checkpoint_cursor(12)) == 12
    with pytest.raises(InvalidQuery):
        checkpoint_number(event_cursor(SealedPosition(seq=1)))


# -- order and pages -------------------------------------------------------------------------------


def test_sealed_events_come_by_seq_then_unsealed_ones_by_time(
    record_events: RecordEvents, work: Work
) -> None:
    first = record_events(3)
    seal_pending_events(work)
    later = record_events(2)
    page = list_events(work, filters=EVERYTHING, limit=10)
    assert [view.id for view in page.items] == [event.id for event in first + later]
    assert [view.seq for view in page.items] == [1, 2, 3, None, None]
    assert page.next_position is None
    assert page.items[0].details == {"index": 0}
    assert page.items[0].details_state is DetailsState.AVAILABLE


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6])
def test_pages_walk_sealed_and_unsealed_events_exactly_once(
    record_events: RecordEvents,
    limit: int,
    work: Work,
) -> None:
    events = record_events(3)
    seal_pending_events(work)
    events += record_events(2)
    assert walk(work, limit=limit) == [event.id for event in events]


def test_an_event_sealed_after_the_walk_reached_the_unsealed_tail_is_listed_once(
    record_events: RecordEvents, work: Work
) -> None:
    events = record_events(2)
    seal_pending_events(work)
    events += record_events(3)
    first = list_events(work, filters=EVERYTHING, limit=3)
    assert isinstance(first.next_position, UnsealedPosition)
    seal_pending_events(work)  # the tail joins the chain between two pages
    events += record_events(1)
    rest = list_events(work, filters=EVERYTHING, limit=10, after=first.next_position)
    listed = [view.id for view in first.items + rest.items]
    assert listed == [event.id for event in events]


def test_filters_narrow_the_listing(clock: FrozenClock, record_events: RecordEvents, work: Work) -> None:
    start = clock.now()
    events = record_events(4)
    record(
        work,
        actor=Party(type=PartyType.USER, id="staff-9"),
        action=Action.AUTHZ_FAIL,
        target=CLIENT,
        outcome=Outcome.FAILURE,
    )
    work.commit()

    def ids(**filters: object) -> list[str]:
        page = list_events(work, filters=EventFilter(**filters), limit=50)  # type: ignore[arg-type]
        return [view.id for view in page.items]

    assert ids(target=PartyFilter(id="client-2")) == [events[2].id]
    assert ids(target=PartyFilter(id="client-2", type="user")) == []
    assert len(ids(actor=PartyFilter(id="client-1", type="client"))) == 4
    assert len(ids(action="authz_fail")) == 1
    assert len(ids(outcome=Outcome.FAILURE)) == 1
    assert ids(since=start + timedelta(milliseconds=1), until=start + timedelta(milliseconds=3)) == [
        events[1].id,
        events[2].id,
    ]


def test_an_export_reads_every_event_in_batches(record_events: RecordEvents, work: Work) -> None:
    events = record_events(4)
    seal_pending_events(work)
    events += record_events(3)
    exported = iter_events(work, filters=EVERYTHING, batch_size=2)
    assert [view.id for view in exported] == [event.id for event in events]


# -- details ---------------------------------------------------------------------------------------


def subject_event(work: Work, subject_id: str) -> AuditEvent:
    work.keyring.create(session=work.session, subject_id=subject_id)
    event_id = record(
        work,
        actor=CLIENT,
        action=Action.SENSITIVE_READ,
        target=Party(type=PartyType.SUBJECT, id=subject_id),
        outcome=Outcome.SUCCESS,
        details={"category": "address"},
    )
    work.commit()
    event = work.session.get_one(AuditEvent, event_id)
    work.session.flush()
    return event


def test_an_erased_subjects_event_is_listed_with_its_details_withheld(
    session: Session, keyring: Keyring, work: Work
) -> None:
    kept = subject_event(work, "subject-kept")
    erased = subject_event(work, "subject-gone")
    keyring.shred(session=session, subject_id="subject-gone")
    views = {view.id: view for view in list_events(work, filters=EVERYTHING, limit=9).items}
    assert views[kept.id].details == {"category": "address"}
    assert (views[erased.id].details, views[erased.id].details_state) == (None, DetailsState.ERASED)


def test_details_that_no_longer_open_are_withheld_and_the_listing_goes_on(
    session: Session, work: Work
) -> None:
    event = subject_event(work, "subject-tampered")
    seal_pending_events(work)
    drop_guards(session)
    assert event.seq is not None
    set_columns(session, event.seq, details=b"\x00" * 40)
    session.expire_all()
    (view,) = list_events(work, filters=EVERYTHING, limit=9).items
    assert (view.details, view.details_state) == (None, DetailsState.UNREADABLE)


# -- checkpoints -----------------------------------------------------------------------------------


def test_checkpoints_are_paged_by_number(session: Session, clock: FrozenClock, signer: TestSigner) -> None:
    for number in range(1, 4):
        signer.checkpoint(number=number, seq=0, hash="0" * 64, at=clock.now())
    first = list_checkpoints(session=session, limit=2)
    assert [checkpoint.number for checkpoint in first.items] == [1, 2]
    assert first.next_number == 2
    rest = list_checkpoints(session=session, limit=2, after=first.next_number)
    assert ([checkpoint.number for checkpoint in rest.items], rest.next_number) == ([3], None)


# -- export encodings ------------------------------------------------------------------------------


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_quoted_while_jsonl_stays_exact(
    work: Work,
) -> None:
    record(
        work,
        actor=Party(type=PartyType.CLIENT, id="=HYPERLINK(1)"),
        action=Action.CLIENT_CREATE,
        target=CLIENT,
        outcome=Outcome.SUCCESS,
        request_id="@SUM(1)",
        details={"n": 1},
    )
    work.commit()
    items = [event_item(view) for view in iter_events(work, filters=EVERYTHING)]
    header, row = csv.reader(io.StringIO(b"".join(csv_lines(items)).decode()))
    assert tuple(header) == CSV_COLUMNS
    values = dict(zip(header, row, strict=True))
    assert (values["actor_id"], values["request_id"]) == ("'=HYPERLINK(1)", "'@SUM(1)")
    assert json.loads(values["details"]) == {"n": 1}
    (line,) = [json.loads(line) for line in b"".join(jsonl_lines(items)).splitlines()]
    assert (line["actor"]["id"], line["request_id"]) == ("=HYPERLINK(1)", "@SUM(1)")
