"""Shop clients: which are enabled, and how long a process takes one it found enabled to stay so."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from privacy_service.core.clock import FrozenClock
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests
from privacy_service.identity.clients import EnabledClients, find_client, register_client
from privacy_service.identity.models import Client
from privacy_service.identity.scopes import Scope
from tests.support.clocks import FakeMonotonic

SECONDS = 5.0


def register(session: Session, clock: FrozenClock, name: str = "web shop") -> str:
    digests = OpaqueTokenDigests(pepper_key=b"\x01" * 32)
    return register_client(
        session=session, digests=digests, clock=clock, name=name, scopes=[Scope.AUTH_LOGIN, Scope.VAULT_READ]
    ).client_id


def set_disabled(session: Session, clock: FrozenClock, client_id: str, disabled: bool) -> None:
    session.execute(
        update(Client).where(Client.id == client_id).values(disabled_at=clock.now() if disabled else None)
    )


def test_find_client_answers_an_enabled_client_with_its_scopes(session: Session, clock: FrozenClock) -> None:
    client_id = register(session, clock)

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
    session: Session, clock: FrozenClock
) -> None:
    client_id = register(session, clock)
    set_disabled(session, clock, client_id, True)

    assert find_client(session=session, client_id=client_id) is None
    assert find_client(session=session, client_id="01jnosuchclient0000000001") is None


def test_an_enabled_client_is_remembered_for_its_seconds_then_looked_up_again(
    session: Session, clock: FrozenClock
) -> None:
    monotonic = FakeMonotonic()
    clients = EnabledClients(seconds=SECONDS, monotonic=monotonic)
    client_id = register(session, clock)
    assert clients.is_enabled(session=session, client_id=client_id)

    set_disabled(session, clock, client_id, True)
    monotonic.advance(SECONDS - 0.1)
    assert clients.is_enabled(session=session, client_id=client_id)  # within the interval: remembered
    monotonic.advance(0.1)
    assert not clients.is_enabled(session=session, client_id=client_id)  # then the database is asked


def test_a_disabled_or_unknown_client_is_never_remembered(session: Session, clock: FrozenClock) -> None:
    clients = EnabledClients(seconds=SECONDS, monotonic=FakeMonotonic())
    client_id = register(session, clock)
    set_disabled(session, clock, client_id, True)
    assert not clients.is_enabled(session=session, client_id=client_id)
    assert not clients.is_enabled(session=session, client_id="01jnosuchclient0000000001")

    set_disabled(session, clock, client_id, False)
    assert clients.is_enabled(session=session, client_id=client_id)  # at once, no interval to wait out


def test_a_client_found_disabled_is_forgotten_at_once(session: Session, clock: FrozenClock) -> None:
    monotonic = FakeMonotonic()
    clients = EnabledClients(seconds=SECONDS, monotonic=monotonic)
    client_id = register(session, clock)
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
    session: Session, clock: FrozenClock
) -> None:
    clients = EnabledClients(seconds=SECONDS, max_entries=2, monotonic=FakeMonotonic())
    oldest, middle, newest = (register(session, clock, name=f"shop {n}") for n in range(3))
    for client_id in (oldest, middle, newest):
        assert clients.is_enabled(session=session, client_id=client_id)

    for client_id in (oldest, middle, newest):
        set_disabled(session, clock, client_id, True)

    assert not clients.is_enabled(session=session, client_id=oldest)  # forgotten: asked again
    assert clients.is_enabled(session=session, client_id=newest)  # still remembered
