"""Shop clients: which are enabled, how long a process takes one it found enabled to stay so, and what
an operator does to them (list, disable, rotate a secret)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from privacy_service.audit.actions import Action
from privacy_service.audit.models import AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests
from privacy_service.identity.clients import (
    ClientDisabled,
    EnabledClients,
    InvalidClient,
    UnknownClient,
    authenticate_client,
    disable_client,
    find_client,
    list_clients,
    register_client,
    rotate_client_secret,
)
from privacy_service.identity.models import Client
from privacy_service.identity.scopes import Scope
from privacy_service.work import Work
from tests.support.clocks import FakeMonotonic

SECONDS = 5.0
DIGESTS = OpaqueTokenDigests(pepper_key=b"\x01" * 32)


def register(work: Work, name: str = "web shop") -> str:
    return register_client(
        work, digests=DIGESTS, name=name, scopes=[Scope.AUTH_LOGIN, Scope.VAULT_READ]
    ).client_id


def events(work: Work, action: Action, client_id: str) -> list[AuditEvent]:
    work.commit()  # events are written as their unit of work commits
    query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == client_id)
    return list(work.session.scalars(query))


def set_disabled(session: Session, clock: FrozenClock, client_id: str, disabled: bool) -> None:
    session.execute(
        update(Client).where(Client.id == client_id).values(disabled_at=clock.now() if disabled else None)
    )


def test_find_client_answers_an_enabled_client_with_its_scopes(session: Session, work: Work) -> None:
    client_id = register(work)

    found = find_client(session=session, client_id=client_id)

    assert found is not None
    assert (found.client_id, found.name) == (client_id, "web shop")
    assert found.scopes == {Scope.AUTH_LOGIN, Scope.VAULT_READ}


def test_find_client_sees_a_client_registered_in_the_same_unit_of_work_before_it_is_flushed(
    session: Session, clock: FrozenClock
) -> None:
    session.add(
        Client(
            id="01jpendingclient000000001", name="p", secret_digest=b"x", scopes="", created_at=clock.now()
        )
    )

    assert find_client(session=session, client_id="01jpendingclient000000001") is not None


def test_find_client_answers_none_for_a_disabled_or_unknown_client(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    client_id = register(work)
    set_disabled(session, clock, client_id, True)

    assert find_client(session=session, client_id=client_id) is None
    assert find_client(session=session, client_id="01jnosuchclient0000000001") is None


def test_an_enabled_client_is_remembered_for_its_seconds_then_looked_up_again(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    monotonic = FakeMonotonic()
    clients = EnabledClients(seconds=SECONDS, monotonic=monotonic)
    client_id = register(work)
    assert clients.is_enabled(session=session, client_id=client_id)

    set_disabled(session, clock, client_id, True)
    monotonic.advance(SECONDS - 0.1)
    assert clients.is_enabled(session=session, client_id=client_id)  # within the interval: remembered
    monotonic.advance(0.1)
    assert not clients.is_enabled(session=session, client_id=client_id)  # then the database is asked


def test_a_disabled_or_unknown_client_is_never_remembered(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    clients = EnabledClients(seconds=SECONDS, monotonic=FakeMonotonic())
    client_id = register(work)
    set_disabled(session, clock, client_id, True)
    assert not clients.is_enabled(session=session, client_id=client_id)
    assert not clients.is_enabled(session=session, client_id="01jnosuchclient0000000001")

    set_disabled(session, clock, client_id, False)
    assert clients.is_enabled(session=session, client_id=client_id)  # at once, no interval to wait out


def test_a_client_found_disabled_is_forgotten_at_once(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    monotonic = FakeMonotonic()
    clients = EnabledClients(seconds=SECONDS, monotonic=monotonic)
    client_id = register(work)
    assert clients.is_enabled(session=session, client_id=client_id)
    set_disabled(session, clock, client_id, True)
    monotonic.advance(SECONDS)
    assert not clients.is_enabled(session=session, client_id=client_id)

    set_disabled(session, clock, client_id, False)
    assert clients.is_enabled(session=session, client_id=client_id)
    set_disabled(session, clock, client_id, True)
    monotonic.advance(SECONDS)
    assert not clients.is_enabled(session=session, client_id=client_id)


def test_only_so_many_clients_are_remembered_and_the_oldest_goes_first(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    clients = EnabledClients(seconds=SECONDS, max_entries=2, monotonic=FakeMonotonic())
    oldest, middle, newest = (register(work, name=f"shop {n}") for n in range(3))
    for client_id in (oldest, middle, newest):
        assert clients.is_enabled(session=session, client_id=client_id)

    for client_id in (oldest, middle, newest):
        set_disabled(session, clock, client_id, True)

    assert not clients.is_enabled(session=session, client_id=oldest)  # forgotten: asked again
    assert clients.is_enabled(session=session, client_id=newest)  # still remembered


# -- what an operator does ------------------------------------------------------------------------------


def test_clients_are_listed_oldest_first_with_scopes_and_dates_and_no_secret(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    first = register(work, name="first shop")
    clock.advance(timedelta(minutes=1))
    second = register(work, name="second shop")
    disable_client(work, client_id=second)

    listed = [client for client in list_clients(session=session) if client.client_id in (first, second)]

    assert [(client.client_id, client.name) for client in listed] == [
        (first, "first shop"),
        (second, "second shop"),
    ]
    assert listed[0].scopes == (Scope.AUTH_LOGIN, Scope.VAULT_READ)
    assert listed[0].disabled_at is None
    assert listed[1].disabled_at == clock.now()
    assert set(listed[0].to_json()) == {"client_id", "name", "scopes", "created_at", "disabled_at"}


def test_a_disabled_client_cannot_authenticate_and_its_tokens_stop_being_honoured(
    session: Session, work: Work
) -> None:
    registered = register_client(work, digests=DIGESTS, name="shop", scopes=[Scope.AUTH_LOGIN])
    assert authenticate_client(
        session=session,
        digests=DIGESTS,
        client_id=registered.client_id,
        client_secret=registered.client_secret,
    )

    assert disable_client(work, client_id=registered.client_id) is True

    with pytest.raises(InvalidClient):
        authenticate_client(
            session=session, digests=DIGESTS, client_id=registered.client_id,
            client_secret=registered.client_secret,
        )  # fmt: skip
    assert not EnabledClients().is_enabled(session=session, client_id=registered.client_id)
    [event] = events(work, Action.CLIENT_DISABLE, registered.client_id)
    assert (event.actor_type, event.target_type, event.outcome) == ("system", "client", "success")


def test_disabling_a_disabled_client_changes_nothing_and_records_nothing(
    session: Session, clock: FrozenClock, work: Work
) -> None:
    client_id = register(work)
    assert disable_client(work, client_id=client_id) is True
    clock.advance(timedelta(hours=1))

    assert disable_client(work, client_id=client_id) is False

    assert len(events(work, Action.CLIENT_DISABLE, client_id)) == 1
    assert session.get_one(Client, client_id).disabled_at == clock.now() - timedelta(hours=1)


def test_a_rotated_secret_replaces_the_old_one_at_once(session: Session, work: Work) -> None:
    registered = register_client(work, digests=DIGESTS, name="shop", scopes=[Scope.AUTH_LOGIN])

    new_secret = rotate_client_secret(work, digests=DIGESTS, client_id=registered.client_id)

    assert new_secret != registered.client_secret
    with pytest.raises(InvalidClient):
        authenticate_client(
            session=session, digests=DIGESTS, client_id=registered.client_id,
            client_secret=registered.client_secret,
        )  # fmt: skip
    assert authenticate_client(
        session=session, digests=DIGESTS, client_id=registered.client_id, client_secret=new_secret
    )
    [event] = events(work, Action.CLIENT_SECRET_ROTATE, registered.client_id)
    assert event.details is None, "the event holds no secret, not even a digest"


def test_a_disabled_clients_secret_is_not_rotated(session: Session, work: Work) -> None:
    client_id = register(work)
    disable_client(work, client_id=client_id)
    before = session.get_one(Client, client_id).secret_digest

    with pytest.raises(ClientDisabled):
        rotate_client_secret(work, digests=DIGESTS, client_id=client_id)

    assert session.get_one(Client, client_id).secret_digest == before


def test_an_unknown_client_is_named_as_such(work: Work) -> None:
    with pytest.raises(UnknownClient, match="01jnosuchclient0000000001"):
        disable_client(work, client_id="01jnosuchclient0000000001")
    with pytest.raises(UnknownClient):
        rotate_client_secret(work, digests=DIGESTS, client_id="01jnosuchclient0000000001")
