"""Shop backends as OAuth clients: registered by an admin, authenticated with HTTP Basic (RFC 6749 §2.3.1)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, client_party
from privacy_service.core.cache import TtlCache
from privacy_service.core.db import run_core
from privacy_service.core.errors import Conflict, NotFound
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests, new_opaque_token
from privacy_service.identity.errors import IdentityError
from privacy_service.identity.models import Client
from privacy_service.identity.scopes import Scope
from privacy_service.work import Work

SECRET_KIND = "client-secret"  # noqa: S105 - a label, not a secret


#: The client the web pages sign people in through (``identity.browser_sessions``), inserted by
#: migration 0012 with no usable secret and no scope: nobody can get a token as it.
FIRST_PARTY_CLIENT_ID = "privacy-service-web"


class InvalidClient(IdentityError):
    """Unknown client, wrong secret or disabled client: one answer for all (RFC 6749 §5.2 invalid_client)."""

    code = "invalid_client"
    status = 401
    title = "Client authentication failed"


class UnknownClient(NotFound):
    """No client has this id (an operator's command named it)."""

    code = "client_not_found"
    title = "No client has this id"


class ClientDisabled(Conflict):
    """The client is disabled: its secret is not rotated, as nothing can use it any more."""

    code = "client_disabled"
    title = "The client is disabled"


@dataclass(frozen=True)
class RegisteredClient:
    """A new client with its secret, which is shown once and never stored."""

    client_id: str
    client_secret: str
    name: str
    scopes: tuple[Scope, ...]


@dataclass(frozen=True)
class AuthenticatedClient:
    client_id: str
    name: str
    scopes: frozenset[Scope]


def register_client(
    work: Work, *, digests: OpaqueTokenDigests, name: str, scopes: Iterable[Scope], actor: Party = SYSTEM
) -> RegisteredClient:
    secret = new_opaque_token()
    granted = tuple(sorted(set(scopes)))
    client = Client(
        name=name,
        secret_digest=digests.digest(secret, kind=SECRET_KIND),
        scopes=" ".join(granted),
        created_at=work.clock.now(),
    )
    work.session.add(client)
    work.session.flush()
    audit.record(
        work,
        actor=actor,
        action=Action.CLIENT_CREATE,
        target=client_party(client.id),
        outcome=Outcome.SUCCESS,
        details={"scopes": list(granted)},
    )
    return RegisteredClient(client_id=client.id, client_secret=secret, name=name, scopes=granted)


@dataclass(frozen=True)
class ClientListing:
    """A client as an operator sees it: never its secret, not even the digest."""

    client_id: str
    name: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    disabled_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "scopes": [str(scope) for scope in self.scopes],
            "created_at": self.created_at.isoformat(),
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
        }


def list_clients(*, session: Session) -> list[ClientListing]:
    """Every shop's client, oldest first (a shop has a handful: no paging); not the pages' own."""
    rows = session.scalars(
        select(Client).where(Client.id != FIRST_PARTY_CLIENT_ID).order_by(Client.created_at, Client.id)
    )
    return [
        ClientListing(
            client_id=client.id,
            name=client.name,
            scopes=tuple(Scope(scope) for scope in client.scopes.split() if scope),
            created_at=client.created_at,
            disabled_at=client.disabled_at,
        )
        for client in rows
    ]


def disable_client(work: Work, *, client_id: str, actor: Party = SYSTEM) -> bool:
    """Stop a client for good: its secret and every token it holds are refused; False if it already was.

    ``authenticate_client`` reads ``disabled_at`` on every token request, and
    every call with one of its tokens asks ``EnabledClients``, which may take
    a process ``ENABLED_CLIENT_SECONDS`` to notice; the sessions its users
    opened through it can no longer be refreshed, as that takes the client's
    secret.
    """
    client = _client(session=work.session, client_id=client_id)
    if client.disabled_at is not None:
        return False
    client.disabled_at = work.clock.now()
    audit.record(
        work,
        actor=actor,
        action=Action.CLIENT_DISABLE,
        target=client_party(client.id),
        outcome=Outcome.SUCCESS,
    )
    return True


def rotate_client_secret(
    work: Work, *, digests: OpaqueTokenDigests, client_id: str, actor: Party = SYSTEM
) -> str:
    """Give a client a new secret, returned this once; the old one is refused from the commit on.

    Tokens already issued stay valid until they expire (a leaked secret calls
    for ``disable_client`` and a new client instead).
    """
    client = _client(session=work.session, client_id=client_id)
    if client.disabled_at is not None:
        raise ClientDisabled(f"client {client_id} is disabled; its secret is not rotated")
    secret = new_opaque_token()
    client.secret_digest = digests.digest(secret, kind=SECRET_KIND)
    audit.record(
        work,
        actor=actor,
        action=Action.CLIENT_SECRET_ROTATE,
        target=client_party(client.id),
        outcome=Outcome.SUCCESS,
    )
    return secret


def _client(*, session: Session, client_id: str) -> Client:
    """A shop's client, to change; the pages' own client is no shop's and cannot be changed."""
    client = session.get(Client, client_id, with_for_update=True)
    if client is None or client.id == FIRST_PARTY_CLIENT_ID:
        raise UnknownClient(f"no client has the id {client_id!r}")
    return client


def authenticate_client(
    *, session: Session, digests: OpaqueTokenDigests, client_id: str, client_secret: str
) -> AuthenticatedClient:
    """Check a client's credentials; raises InvalidClient without saying which part was wrong."""
    client = session.get(Client, client_id) if client_id else None
    # Compute the digest even for an unknown id, so timing does not tell which ids exist.
    expected = client.secret_digest if client is not None else b"\x00" * 32
    if not digests.matches(client_secret, expected, kind=SECRET_KIND) or client is None:
        raise InvalidClient()
    if client.disabled_at is not None:
        raise InvalidClient()
    return client_view(client)


def find_client(*, session: Session, client_id: str) -> AuthenticatedClient | None:
    """An enabled client by id (for tokens it was issued), or None. Every authenticated call asks."""
    row = run_core(session, _ENABLED_CLIENT, {"client_id": client_id}).first()
    return _view(*row) if row is not None else None


#: How long a process takes a client it found enabled to stay so (a disabled client's tokens stop within it).
ENABLED_CLIENT_SECONDS: Final = 5.0


class EnabledClients:
    """Whether a client is enabled, remembered for a few seconds: every call with a client's token asks.

    One per process, shared by its threads. Only "enabled" is remembered, for
    ``seconds`` on a monotonic clock, so a client disabled in the database is
    refused by every process within that time; an unknown or disabled client is
    looked up on every call. At most ``max_entries`` clients are remembered.
    Without it a client token's check costs 1.3-1.5x the CPU (``benchmarks/README.md``, "caches.py").
    """

    def __init__(
        self,
        *,
        seconds: float = ENABLED_CLIENT_SECONDS,
        max_entries: int = 1024,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self._enabled: TtlCache[str, bool] = TtlCache(
            max_entries=max_entries, ttl_seconds=seconds, monotonic=monotonic
        )

    def is_enabled(self, *, session: Session, client_id: str) -> bool:
        if self._enabled.get(client_id):
            return True
        if find_client(session=session, client_id=client_id) is None:
            self._enabled.evict(client_id)  # another thread may have just found it enabled: disabled wins
            return False
        self._enabled.put(client_id, True)
        return True


def client_view(client: Client) -> AuthenticatedClient:
    return _view(client.id, client.name, client.scopes)


def _view(client_id: str, name: str, scopes: str) -> AuthenticatedClient:
    return AuthenticatedClient(
        client_id=client_id, name=name, scopes=frozenset(Scope(scope) for scope in scopes.split() if scope)
    )


_ENABLED_CLIENT: Final = select(Client.id, Client.name, Client.scopes).where(
    Client.id == bindparam("client_id"), Client.disabled_at.is_(None)
)
