"""The vocabulary of who may do what: client scopes, staff roles, authentication methods."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """What a shop backend (OAuth client) may do; granted when an admin registers it."""

    APPROVALS_WRITE = "approvals:write"
    AUDIT_WRITE = "audit:write"
    AUTH_LOGIN = "auth:login"
    DSR_WRITE = "dsr:write"
    USERS_WRITE = "users:write"
    VAULT_READ = "vault:read"
    VAULT_WRITE = "vault:write"


class Role(StrEnum):
    """Staff roles; a user without one is a customer."""

    ADMIN = "admin"
    COMPLIANCE_OFFICER = "compliance_officer"


class AuthMethod(StrEnum):
    """RFC 8176 authentication method references, as carried in the ``amr`` claim."""

    OTP = "otp"
    PASSWORD = "pwd"  # noqa: S105 - RFC 8176 method name, not a password


def parse_scopes(text: str) -> frozenset[Scope]:
    """Space- or comma-separated scope names; raises ValueError naming an unknown one."""
    names = [name for name in text.replace(",", " ").split() if name]
    unknown = sorted(set(names) - {scope.value for scope in Scope})
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; known: {', '.join(sorted(Scope))}")
    return frozenset(Scope(name) for name in names)


def parse_roles(text: str) -> frozenset[Role]:
    return frozenset(Role(name) for name in text.split() if name)
