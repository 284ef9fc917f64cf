"""Sessions and refresh tokens: single use, rotation, reuse detection, revocation, and what is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.core.errors import NotFound
from privacy_service.crypto import BlindIndex, DecryptionFailed, LocalKeyFile
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests
from privacy_service.identity import sessions as service
from privacy_service.identity.errors import InvalidToken, RefreshTokenReused
from privacy_service.identity.models import Client, RefreshToken, User, UserSession
from privacy_service.identity.scopes import AuthMethod
from privacy_service.keys.service import Keyring
from privacy_service.vault import service as vault
from privacy_service.vault.lookup import email_index
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work, Workplace

LIFETIME = timedelta(days=30)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@dataclass
class World:
    """What a session needs around it: its services' collaborators, a shop client and a customer."""

    digests: OpaqueTokenDigests
    clock: FrozenClock
    blind_index: BlindIndex

    def client(self, work: Work, name: str = "shop") -> str:
        client = Client(
            name=name, secret_digest=b"\x00" * 32, scopes="auth:login", created_at=self.clock.now()
        )
        work.session.add(client)
        work.session.flush()
        return client.id

    def user(self, work: Work, email: str = "ada@example.net") -> str:
        subject = vault.create_subject(work, blind_index=self.blind_index, profile=ProfileFields(email=email))
        now = self.clock.now()
        work.session.add(User(id=subject.id, password=b"peppered", password_changed_at=now, created_at=now))
        work.session.flush()
        return subject.id

    def login(
        self,
        work: Work,
        *,
        user_id: str,
        client_id: str,
        user_agent: str | None = FIREFOX,
        amr: tuple[AuthMethod, ...] = (AuthMethod.PASSWORD,),
    ) -> service.IssuedRefresh:
        issued = service.start_session(
            work,
            digests=self.digests,
            user_id=user_id,
            client_id=client_id,
            amr=amr,
            user_agent=user_agent,
            lifetime=LIFETIME,
        )
        work.commit()  # a login is a unit of work of its own: its rows go with its commit
        return issued

    def refresh(self, work: Work, token: str, *, client_id: str) -> service.RotatedRefresh:
        rotated = service.rotate_refresh_token(
            work, digests=self.digests, client_id=client_id, refresh_token=token
        )
        work.commit()
        return rotated

    def active(self, work: Work, session_id: str) -> bool:
        return service.is_session_active(work, session_id=session_id)


@pytest.fixture
def world(key_file: LocalKeyFile, clock: FrozenClock) -> World:
    return World(
        digests=OpaqueTokenDigests(pepper_key=key_file.pepper_key()),
        clock=clock,
        blind_index=email_index(key_file),
    )


@pytest.fixture
def shop(world: World, work: Work) -> str:
    return world.client(work)


@pytest.fixture
def ada(world: World, work: Work) -> str:
    return world.user(work)


# -- starting a session -----------------------------------------------------------------------------


def test_a_refresh_token_is_stored_only_as_a_keyed_digest(
    world: World, session: Session, shop: str, ada: str, work: Work
) -> None:
    issued = world.login(work, user_id=ada, client_id=shop)

    (row,) = session.scalars(select(RefreshToken).where(RefreshToken.session_id == issued.session_id))
    assert len(issued.refresh_token) >= 43  # 256 bits, base64url
    assert issued.refresh_token.encode() not in row.digest
    assert row.digest == world.digests.digest(issued.refresh_token, kind=service.REFRESH_TOKEN_KIND)
    assert row.digest != OpaqueTokenDigests(pepper_key=bytes(32)).digest(
        issued.refresh_token, kind=service.REFRESH_TOKEN_KIND
    )  # keyed: the database alone cannot produce or test a digest
    assert issued.refresh_token not in repr(issued)


def test_a_session_ends_at_an_absolute_time_and_records_how_the_user_signed_in(
    world: World, session: Session, shop: str, ada: str, work: Work
) -> None:
    issued = world.login(work, user_id=ada, client_id=shop, amr=(AuthMethod.PASSWORD, AuthMethod.OTP))

    row = session.get_one(UserSession, issued.session_id)
    assert issued.expires_at == row.expires_at == world.clock.now() + LIFETIME
    assert (row.user_id, row.client_id, row.amr) == (ada, shop, "pwd otp")
    assert row.created_at == row.last_used_at == world.clock.now()
    assert row.revoked_at is None


def test_a_session_opened_alone_has_no_refresh_token_and_stands_until_it_ends(
    world: World, session: Session, shop: str, ada: str, work: Work
) -> None:
    opened = service.open_session(
        work, user_id=ada, client_id=shop, amr=(AuthMethod.PASSWORD,), user_agent=FIREFOX, lifetime=LIFETIME
    )
    work.commit()

    assert (
        session.scalars(select(RefreshToken).where(RefreshToken.session_id == opened.session_id)).all() == []
    )
    assert session.get_one(UserSession, opened.session_id).expires_at == opened.expires_at
    assert world.active(work, opened.session_id)
    world.clock.advance(LIFETIME)
    assert not world.active(work, opened.session_id)


def test_the_user_agent_is_encrypted_under_the_users_key_and_listed_decrypted(
    world: World, session: Session, shop: str, ada: str, work: Work
) -> None:
    issued = world.login(work, user_id=ada, client_id=shop)

    row = session.get_one(UserSession, issued.session_id)
    assert row.user_agent is not None
    assert b"Firefox" not in row.user_agent
    (view,) = service.list_sessions(work, user_id=ada)
    assert view.user_agent == FIREFOX
    assert (view.id, view.client_id, view.amr) == (issued.session_id, shop, (AuthMethod.PASSWORD,))
    assert (view.created_at, view.last_used_at, view.expires_at) == (
        row.created_at,
        row.last_used_at,
        row.expires_at,
    )


def test_an_encrypted_user_agent_cannot_be_moved_to_another_users_session(
    world: World, session: Session, shop: str, ada: str, work: Work
) -> None:
    grace = world.user(work, email="grace@example.net")
    adas = session.get_one(UserSession, world.login(work, user_id=ada, client_id=shop).session_id)
    graces = session.get_one(UserSession, world.login(work, user_id=grace, client_id=shop).session_id)
    graces.user_agent = adas.user_agent
    session.flush()

    with pytest.raises(DecryptionFailed):
        service.list_sessions(work, user_id=grace)


def test_a_long_user_agent_is_truncated_and_a_missing_one_stays_missing(
    world: World, shop: str, ada: str, work: Work
) -> None:
    world.login(work, user_id=ada, client_id=shop, user_agent="x" * 10_000)
    world.clock.advance(timedelta(seconds=1))
    world.login(work, user_id=ada, client_id=shop, user_agent=None)

    newest, oldest = service.list_sessions(work, user_id=ada)
    assert newest.user_agent is None
    assert oldest.user_agent == "x" * service.USER_AGENT_MAX_LENGTH


# -- rotation ---------------------------------------------------------------------------------------


def test_a_refresh_token_is_exchanged_for_a_new_one_and_is_then_refused(
    world: World, shop: str, ada: str, work: Work
) -> None:
    issued = world.login(work, user_id=ada, client_id=shop)
    world.clock.advance(timedelta(minutes=5))

    rotated = world.refresh(work, issued.refresh_token, client_id=shop)

    assert rotated.refresh_token != issued.refresh_token
    assert rotated.user_session.id == issued.session_id
    assert rotated.user_session.last_used_at == world.clock.now()
    assert rotated.refresh_token not in repr(rotated)
    with pytest.raises(RefreshTokenReused):
        world.refresh(work, issued.refresh_token, client_id=shop)


def test_reusing_a_spent_token_revokes_the_family_so_the_current_token_stops_working_too(
    world: World, session: Session, shop: str, ada: str, work: Work
) -> None:
    """RFC 9700 §4.14.2: the server cannot tell the thief from the victim, so both lose the family."""
    issued = world.login(work, user_id=ada, client_id=shop)
    current = world.refresh(work, issued.refresh_token, client_id=shop).refresh_token

    with pytest.raises(RefreshTokenReused) as reuse:
        world.refresh(work, issued.refresh_token, client_id=shop)

    assert reuse.value.code == "invalid_grant"
    assert issued.refresh_token not in str(reuse.value)
    assert not world.active(work, issued.session_id)
    assert session.get_one(UserSession, issued.session_id).revoked_at == world.clock.now()
    with pytest.raises(InvalidToken):
        world.refresh(work, current, client_id=shop)


def test_the_revocation_on_reuse_commits_although_the_request_fails(
    world: World, sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    workplace = Workplace(sessions=sessions, clock=world.clock, keyring=keyring)
    with workplace.open() as work:
        shop, ada = world.client(work), world.user(work)
        issued = world.login(work, user_id=ada, client_id=shop)
    with workplace.open() as work:
        world.refresh(work, issued.refresh_token, client_id=shop)

    with pytest.raises(RefreshTokenReused), workplace.open() as work:
        world.refresh(work, issued.refresh_token, client_id=shop)

    with workplace.open() as work:
        assert not world.active(work, issued.session_id)


def test_an_unknown_refresh_token_is_refused(world: World, shop: str, ada: str, work: Work) -> None:
    world.login(work, user_id=ada, client_id=shop)

    with pytest.raises(InvalidToken) as refusal:
        world.refresh(work, "not-a-token-we-issued", client_id=shop)
    assert type(refusal.value) is InvalidToken


def test_a_refresh_token_of_an_expired_session_is_refused(
    world: World, shop: str, ada: str, work: Work
) -> None:
    issued = world.login(work, user_id=ada, client_id=shop)
    world.clock.advance(LIFETIME - timedelta(seconds=1))
    token = world.refresh(work, issued.refresh_token, client_id=shop).refresh_token
    world.clock.advance(timedelta(seconds=1))

    with pytest.raises(InvalidToken) as refusal:
        world.refresh(work, token, client_id=shop)
    assert type(refusal.value) is InvalidToken
    assert not world.active(work, issued.session_id)


def test_a_refresh_token_presented_by_another_client_is_refused_and_the_family_survives(
    world: World, shop: str, ada: str, work: Work
) -> None:
    other_shop = world.client(work, name="other shop")
    issued = world.login(work, user_id=ada, client_id=shop)

    with pytest.raises(InvalidToken) as refusal:
        world.refresh(work, issued.refresh_token, client_id=other_shop)

    assert type(refusal.value) is InvalidToken
    assert world.active(work, issued.session_id)
    assert world.refresh(work, issued.refresh_token, client_id=shop).refresh_token


def test_a_refresh_token_of_a_revoked_session_is_refused(
    world: World, shop: str, ada: str, work: Work
) -> None:
    issued = world.login(work, user_id=ada, client_id=shop)
    service.revoke_session(work, user_id=ada, session_id=issued.session_id)

    with pytest.raises(InvalidToken) as refusal:
        world.refresh(work, issued.refresh_token, client_id=shop)
    assert type(refusal.value) is InvalidToken


# -- revocation -------------------------------------------------------------------------------------


def test_revoking_all_sessions_except_the_current_one(world: World, shop: str, ada: str, work: Work) -> None:
    current, second, third = (world.login(work, user_id=ada, client_id=shop) for _ in range(3))
    grace = world.user(work, email="grace@example.net")
    graces = world.login(work, user_id=grace, client_id=shop)

    revoked = service.revoke_all_sessions(work, user_id=ada, except_session_id=current.session_id)

    assert revoked == 2
    assert world.active(work, current.session_id)
    assert not world.active(work, second.session_id)
    assert not world.active(work, third.session_id)
    assert world.active(work, graces.session_id)
    assert world.refresh(work, current.refresh_token, client_id=shop).refresh_token
    with pytest.raises(InvalidToken):
        world.refresh(work, second.refresh_token, client_id=shop)


def test_revoking_all_sessions_counts_only_live_ones(world: World, shop: str, ada: str, work: Work) -> None:
    first = world.login(work, user_id=ada, client_id=shop)
    world.login(work, user_id=ada, client_id=shop)
    service.revoke_session(work, user_id=ada, session_id=first.session_id)

    assert service.revoke_all_sessions(work, user_id=ada) == 1
    assert service.revoke_all_sessions(work, user_id=ada) == 0
    assert service.list_sessions(work, user_id=ada) == []


def test_a_user_revokes_one_of_their_sessions_once_and_again_without_error(
    world: World, session: Session, shop: str, ada: str, work: Work
) -> None:
    issued = world.login(work, user_id=ada, client_id=shop)
    world.clock.advance(timedelta(minutes=1))

    service.revoke_session(work, user_id=ada, session_id=issued.session_id)
    revoked_at = session.get_one(UserSession, issued.session_id).revoked_at
    world.clock.advance(timedelta(minutes=1))
    service.revoke_session(work, user_id=ada, session_id=issued.session_id)

    assert revoked_at == session.get_one(UserSession, issued.session_id).revoked_at
    assert not world.active(work, issued.session_id)


def test_a_user_cannot_revoke_another_users_session_or_learn_that_it_exists(
    world: World, shop: str, ada: str, work: Work
) -> None:
    grace = world.user(work, email="grace@example.net")
    graces = world.login(work, user_id=grace, client_id=shop)

    for session_id in (graces.session_id, "01jnosuchsession0000000000"):
        with pytest.raises(NotFound):
            service.revoke_session(work, user_id=ada, session_id=session_id)
    assert world.active(work, graces.session_id)


def test_revoking_a_refresh_token_revokes_its_session(world: World, shop: str, ada: str, work: Work) -> None:
    """RFC 7009 §2.1: revoking a refresh token may (here: does) end the whole grant."""
    issued = world.login(work, user_id=ada, client_id=shop)
    spent = issued.refresh_token
    current = world.refresh(work, spent, client_id=shop).refresh_token

    service.revoke_refresh_token(work, digests=world.digests, client_id=shop, token=spent)

    assert not world.active(work, issued.session_id)
    with pytest.raises(InvalidToken):
        world.refresh(work, current, client_id=shop)
    service.revoke_refresh_token(  # again: nothing left to do, and no error
        work, digests=world.digests, client_id=shop, token=current
    )


def test_revoking_an_unknown_refresh_token_is_silently_fine(world: World, shop: str, work: Work) -> None:
    """RFC 7009 §2.2: invalid tokens do not cause an error response."""
    service.revoke_refresh_token(work, digests=world.digests, client_id=shop, token="never-issued")


def test_a_client_cannot_revoke_another_clients_refresh_token(
    world: World, shop: str, ada: str, work: Work
) -> None:
    other_shop = world.client(work, name="other shop")
    issued = world.login(work, user_id=ada, client_id=shop)

    with pytest.raises(InvalidToken):
        service.revoke_refresh_token(
            work,
            digests=world.digests,
            client_id=other_shop,
            token=issued.refresh_token,
        )
    assert world.active(work, issued.session_id)


# -- listing and checking ---------------------------------------------------------------------------


def test_listed_sessions_are_the_users_live_ones_most_recently_used_first(
    world: World, shop: str, ada: str, work: Work
) -> None:
    expiring = world.login(work, user_id=ada, client_id=shop)
    world.clock.advance(timedelta(days=1))
    revoked = world.login(work, user_id=ada, client_id=shop)
    older = world.login(work, user_id=ada, client_id=shop)
    newer = world.login(work, user_id=ada, client_id=shop)
    world.user(work, email="grace@example.net")
    service.revoke_session(work, user_id=ada, session_id=revoked.session_id)
    world.clock.advance(LIFETIME - timedelta(days=1))  # the first session has just expired
    world.refresh(work, older.refresh_token, client_id=shop)

    views = service.list_sessions(work, user_id=ada)

    assert [view.id for view in views] == [older.session_id, newer.session_id]
    assert expiring.session_id not in {view.id for view in views}


def test_a_session_is_active_until_it_expires_or_is_revoked(
    world: World, shop: str, ada: str, work: Work
) -> None:
    expiring = world.login(work, user_id=ada, client_id=shop)
    revoked = world.login(work, user_id=ada, client_id=shop)
    service.revoke_session(work, user_id=ada, session_id=revoked.session_id)

    assert world.active(work, expiring.session_id)
    assert not world.active(work, revoked.session_id)
    assert not world.active(work, "01jnosuchsession0000000000")
    world.clock.advance(LIFETIME)
    assert not world.active(work, expiring.session_id)
