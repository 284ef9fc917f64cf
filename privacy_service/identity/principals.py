"""Who is calling: a user (a customer or staff, through a shop) or a client (a shop backend itself)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from privacy_service.audit.actions import Party, client_party, user_party
from privacy_service.identity.scopes import AuthMethod, Role, Scope


class PrincipalKind(StrEnum):
    CLIENT = "client"
    USER = "user"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request, as its access token describes it."""

    kind: PrincipalKind
    id: str
    client_id: str
    scopes: frozenset[Scope] = frozenset()
    roles: frozenset[Role] = frozenset()
    amr: frozenset[AuthMethod] = frozenset()
    session_id: str | None = None

    @property
    def is_user(self) -> bool:
        return self.kind is PrincipalKind.USER

    @property
    def is_staff(self) -> bool:
        return self.is_user and bool(self.roles)

    @property
    def has_second_factor(self) -> bool:
        return AuthMethod.OTP in self.amr

    @property
    def party(self) -> Party:
        """How the audit trail names this caller."""
        return user_party(self.id) if self.is_user else client_party(self.id)
