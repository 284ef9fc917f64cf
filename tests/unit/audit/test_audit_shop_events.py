"""Shops' own events in the trail: their namespace, the recording client hashed with them (encoding v2),
every earlier event's hash unchanged, and tampering with ``recorded_by`` located."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from privacy_service.audit import (
    Action,
    Outcome,
    Party,
    PartyType,
    open_details,
    seal_pending_events,
    verify_chain,
)
from privacy_service.audit.actions import InvalidShopName, ShopAction, ShopParty
from privacy_service.audit.archive import event_from_json, event_line
from privacy_service.audit.canonical import ChainedEvent
from privacy_service.audit.models import AuditEvent
from privacy_service.audit.recorder import record_shop_event
from privacy_service.audit.verify import Problem
from privacy_service.keys.service import Keyring
from privacy_service.work import Work
from tests.unit.audit.conftest import RecordEvents
from tests.unit.audit.tampering import drop_guards, set_columns

ORDER = ShopParty(type="order", id="o-1001")
CLERK = ShopParty(type="staff_member", id="clerk-7")


@pytest.mark.parametrize("service_action", [action.value for action in Action])
def test_no_service_action_can_be_a_shop_action(service_action: str) -> None:
    with pytest.raises(InvalidShopName):
        ShopAction(service_action)


@pytest.mark.parametrize(
    "name",
    ["order", "Order.amount_change", "order.", ".order", "order..change", "order.amount-change",
     "1order.change", "order.9change", "order.amount change", "a." + "b" * 99],
)  # fmt: skip
def test_a_shop_action_is_dotted_lower_case_and_bounded(name: str) -> None:
    with pytest.raises(InvalidShopName):
        ShopAction(name)


@pytest.mark.parametrize("name", ["order.amount_change", "payout.account.change", "a.b", "a." + "b" * 98])
def test_dotted_lower_case_names_are_shop_actions(name: str) -> None:
    assert ShopAction(name).value == name


@pytest.mark.parametrize(
    ("party_type", "party_id"),
    [("Order", "1"), ("order-line", "1"), ("o" * 33, "1"), ("", "1"), ("order", ""), ("order", "x" * 65),
     ("order", "a\nb")],
)  # fmt: skip
def test_a_shop_party_has_a_lower_case_type_and_a_bounded_id(party_type: str, party_id: str) -> None:
    with pytest.raises(InvalidShopName):
        ShopParty(type=party_type, id=party_id)


def test_a_shop_user_is_a_data_subject_and_other_shop_types_are_not() -> None:
    assert ShopParty(type="user", id="u").is_subject
    assert not ORDER.is_subject
    assert ORDER.type_name == "order"
    assert Party(type=PartyType.CLIENT, id="c").type_name == "client"


def _event(**changes: object) -> ChainedEvent:
    event = ChainedEvent(
        id="e1", at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), actor_type="client", actor_id="c1",
        action="client_create", target_type="client", target_id="c2", outcome="success",
        request_id="r1", subject_id=None, details=b"{}",
    )  # fmt: skip
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def test_an_event_without_a_recording_client_keeps_encoding_version_1_byte_for_byte() -> None:
    """The version 1 encoding as canonical.py documents it, computed independently here."""
    sealed_at = datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)
    expected = hashlib.sha256(
        json.dumps(
            {"action": "client_create", "actor_id": "c1", "actor_type": "client",
             "at": "2026-01-02T03:04:05.000000Z", "details": "e30=", "id": "e1", "outcome": "success",
             "prev_hash": "0" * 64, "request_id": "r1", "sealed_at": "2026-01-02T03:04:06.000000Z",
             "seq": 1, "subject_id": None, "target_id": "c2", "target_type": "client", "v": 1},
            sort_keys=True, separators=(",", ":"),
        ).encode()
    ).hexdigest()  # fmt: skip
    assert _event().hash_at(seq=1, prev_hash="0" * 64, sealed_at=sealed_at) == expected


def test_a_recording_client_is_hashed_with_encoding_version_2() -> None:
    sealed_at = datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)
    plain = _event().hash_at(seq=1, prev_hash="0" * 64, sealed_at=sealed_at)
    recorded = _event(recorded_by="shop").hash_at(seq=1, prev_hash="0" * 64, sealed_at=sealed_at)
    other = _event(recorded_by="other").hash_at(seq=1, prev_hash="0" * 64, sealed_at=sealed_at)
    assert len({plain, recorded, other}) == 3


def _record(work: Work, **changes: object) -> str:
    values: dict[str, object] = {
        "recorded_by": "client-1", "actor": CLERK, "action": ShopAction("order.amount_change"),
        "target": ORDER, "outcome": Outcome.SUCCESS, "details": {"from": "10.00", "to": "12.00"},
    }  # fmt: skip
    values.update(changes)
    return record_shop_event(work, **values)  # type: ignore[arg-type]


def test_a_shop_event_is_recorded_with_its_client_and_its_names_as_sent(session: Session, work: Work) -> None:
    event_id = _record(work)
    work.commit()
    event = session.get_one(AuditEvent, event_id)
    assert (event.actor_type, event.actor_id, event.action) == (
        "staff_member",
        "clerk-7",
        "order.amount_change",
    )
    assert (event.target_type, event.target_id, event.recorded_by) == ("order", "o-1001", "client-1")
    assert event.subject_id is None
    assert open_details(work, event=event) == {"from": "10.00", "to": "12.00"}


def test_a_shop_event_naming_a_user_has_its_details_encrypted_under_their_key(
    session: Session, keyring: Keyring, work: Work
) -> None:
    keyring.create(session=session, subject_id="alice")
    event_id = _record(work, target=ShopParty(type="user", id="alice"), details={"address": "Main St 1"})
    work.commit()
    event = session.get_one(AuditEvent, event_id)
    assert event.subject_id == "alice"
    assert event.details is not None
    assert b"Main St" not in event.details
    assert open_details(work, event=event) == {"address": "Main St 1"}


def test_the_chain_verifies_with_shop_events_among_the_service_s(
    session: Session, work: Work, record_events: RecordEvents
) -> None:
    record_events(2)
    _record(work)
    _record(work, recorded_by="client-2", details=None)
    work.commit()
    record_events(1)
    assert seal_pending_events(work, batch_size=100) == 5
    report = verify_chain(session=session, public_keys={})
    assert (report.ok, report.events_checked) == (True, 5)


@pytest.mark.parametrize("forged", [None, "client-9"])
def test_a_changed_or_removed_recording_client_is_located(
    session: Session, work: Work, record_events: RecordEvents, forged: str | None
) -> None:
    record_events(1)
    event_id = _record(work)
    work.commit()
    record_events(1)
    seal_pending_events(work, batch_size=100)
    seq = session.get_one(AuditEvent, event_id).seq
    assert seq is not None
    drop_guards(session)
    set_columns(session, seq, recorded_by=forged)
    report = verify_chain(session=session, public_keys={})
    assert (report.ok, report.first_bad_seq, report.problem) == (False, seq, Problem.ALTERED)


def test_a_recording_client_given_to_a_service_event_is_located(
    session: Session, work: Work, record_events: RecordEvents
) -> None:
    record_events(3)
    seal_pending_events(work, batch_size=100)
    drop_guards(session)
    set_columns(session, 2, recorded_by="client-9")
    report = verify_chain(session=session, public_keys={})
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 2, Problem.ALTERED)


def test_an_archive_line_carries_the_recording_client_only_where_there_is_one() -> None:
    sealed = _event(seq=1, prev_hash="0" * 64, hash="h" * 64, sealed_at=datetime(2026, 1, 3, tzinfo=UTC))
    assert b"recorded_by" not in event_line(sealed)
    shop = dataclasses.replace(sealed, recorded_by="client-1")
    assert event_from_json(json.loads(event_line(shop))) == shop
    assert event_from_json(json.loads(event_line(sealed))) == sealed
