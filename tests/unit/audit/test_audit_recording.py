"""Recording: one vocabulary, events in the caller's transaction, personal details under the subject's key."""

from __future__ import annotations

from enum import StrEnum

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit import SYSTEM, Action, Outcome, Party, PartyType, open_details, record
from privacy_service.audit.models import AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.keys.errors import SubjectKeyDestroyed
from privacy_service.keys.models import SubjectKey
from privacy_service.keys.service import Keyring
from privacy_service.work import Work, Workplace

ALICE = Party(type=PartyType.USER, id="alice")
STAFF = Party(type=PartyType.USER, id="staff-1")
CLIENT = Party(type=PartyType.CLIENT, id="client-1")


def events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


@pytest.mark.parametrize("vocabulary", [Action, Outcome, PartyType])
def test_each_vocabulary_is_alphabetised_and_has_no_dots(vocabulary: type[StrEnum]) -> None:
    names = [member.name for member in vocabulary]
    assert names == sorted(names)
    assert all("." not in member.value and member.value == member.name.lower() for member in vocabulary)


def test_the_api_md_actions_all_exist() -> None:
    required = {
        "authn_login_success", "authn_login_fail", "authn_token_reuse", "authz_fail", "authn_password_change",
        "mfa_enable", "mfa_disable", "user_create", "client_create", "sensitive_read", "sensitive_update",
        "sensitive_delete", "key_rotate", "dsr_create", "dsr_complete", "audit_read", "session_revoke",
        "signing_key_rotate",
    }  # fmt: skip
    assert required <= {action.value for action in Action}


def test_users_and_subjects_are_data_subjects_and_clients_are_not() -> None:
    assert ALICE.is_subject
    assert Party(type=PartyType.SUBJECT, id="s").is_subject
    assert not CLIENT.is_subject
    assert not SYSTEM.is_subject


def test_an_event_is_recorded_unsealed_in_the_callers_transaction(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    event_id = record(
        work,
        actor=SYSTEM,
        action=Action.KEY_ROTATE,
        target=Party(type=PartyType.KEY, id="kek-2"),
        outcome=Outcome.SUCCESS,
        request_id="req-1",
    )
    work.commit()  # the caller's transaction commits, and its event with it
    event = session.get_one(AuditEvent, event_id)
    assert (event.seq, event.hash, event.prev_hash, event.sealed_at) == (None, None, None, None)
    assert (event.action, event.actor_type, event.target_id, event.outcome) == (
        "key_rotate",
        "system",
        "kek-2",
        "success",
    )
    assert event.at == clock.now()
    assert event.details is None
    assert event.subject_id is None


def test_details_about_no_subject_are_stored_as_plain_json(session: Session, work: Work) -> None:
    event_id = record(
        work,
        actor=SYSTEM,
        action=Action.CLIENT_CREATE,
        target=CLIENT,
        outcome=Outcome.SUCCESS,
        details={"scopes": ["vault:read"]},
    )
    work.commit()
    event = session.get_one(AuditEvent, event_id)
    assert event.details == b'{"scopes":["vault:read"]}'
    assert open_details(work, event=event) == {"scopes": ["vault:read"]}


def test_details_about_a_subject_are_encrypted_under_their_key(
    session: Session, keyring: Keyring, work: Work
) -> None:
    keyring.create(session=session, subject_id="alice")
    event_id = record(
        work,
        actor=STAFF,
        action=Action.SENSITIVE_READ,
        target=ALICE,
        outcome=Outcome.SUCCESS,
        details={"fields": ["phone"], "reason": "ticket 42"},
    )
    work.commit()
    event = session.get_one(AuditEvent, event_id)
    assert event.subject_id == "alice"  # the target, not the staff member who acted
    assert event.details is not None
    assert b"ticket 42" not in event.details
    assert open_details(work, event=event) == {
        "fields": ["phone"],
        "reason": "ticket 42",
    }


def test_a_subject_acting_on_a_client_has_details_encrypted_under_their_own_key(
    session: Session, keyring: Keyring, work: Work
) -> None:
    keyring.create(session=session, subject_id="alice")
    event_id = record(
        work,
        actor=ALICE,
        action=Action.AUTHN_LOGIN_SUCCESS,
        target=CLIENT,
        outcome=Outcome.SUCCESS,
        details={"ip": "192.0.2.1"},
    )
    work.commit()
    event = session.get_one(AuditEvent, event_id)
    assert event.subject_id == "alice"
    assert event.details is not None
    assert b"192.0.2.1" not in event.details


def test_an_event_without_details_about_a_subject_needs_no_key(session: Session, work: Work) -> None:
    event_id = record(
        work,
        actor=ALICE,
        action=Action.AUTHN_LOGIN_FAIL,
        target=ALICE,
        outcome=Outcome.FAILURE,
    )
    work.commit()
    event = session.get_one(AuditEvent, event_id)
    assert event.subject_id == "alice"
    assert open_details(work, event=event) is None


def test_erasing_the_subject_makes_the_details_unreadable(
    session: Session, keyring: Keyring, work: Work
) -> None:
    keyring.create(session=session, subject_id="alice")
    event_id = record(
        work,
        actor=STAFF,
        action=Action.SENSITIVE_UPDATE,
        target=ALICE,
        outcome=Outcome.SUCCESS,
        details={"field": "address"},
    )
    work.commit()
    event = session.get_one(AuditEvent, event_id)
    keyring.shred(session=session, subject_id="alice")
    with pytest.raises(SubjectKeyDestroyed):
        open_details(work, event=event)


def test_a_business_change_rolled_back_leaves_no_event(
    sessions: sessionmaker[Session], clock: FrozenClock, keyring: Keyring
) -> None:
    workplace = Workplace(sessions=sessions, clock=clock, keyring=keyring)

    def register_bob_then_fail() -> None:
        with workplace.open() as work:
            work.keyring.create(session=work.session, subject_id="bob")
            record(
                work,
                actor=SYSTEM,
                action=Action.USER_CREATE,
                target=Party(type=PartyType.USER, id="bob"),
                outcome=Outcome.SUCCESS,
            )
            work.session.flush()
            raise RuntimeError("the business change fails after its event was written")

    with pytest.raises(RuntimeError):
        register_bob_then_fail()
    with sessions() as session:
        assert events(session) == 0
        assert session.scalar(select(SubjectKey).where(SubjectKey.subject_id == "bob")) is None


def test_a_committed_business_change_commits_its_event(
    sessions: sessionmaker[Session], clock: FrozenClock, keyring: Keyring
) -> None:
    with Workplace(sessions=sessions, clock=clock, keyring=keyring).open() as work:
        record(
            work,
            actor=SYSTEM,
            action=Action.CLIENT_CREATE,
            target=CLIENT,
            outcome=Outcome.SUCCESS,
        )
    with sessions() as session:
        assert events(session) == 1
