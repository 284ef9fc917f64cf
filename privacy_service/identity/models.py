"""Accounts, their credentials and second factors, sessions and refresh tokens, shop clients, signing keys.

A user's id is the id of their data subject in the vault: one person, one id.
No secret is stored in a form that can be used: password hashes are encrypted
under the pepper, TOTP secrets under the subject's data key, recovery codes,
refresh tokens, MFA tokens and client secrets as keyed digests, signing keys
wrapped by the KEK. Throttling keys (accounts, end-user IPs) are keyed digests
too, so the failure log holds no personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from privacy_service.core.db import Base
from privacy_service.core.ids import new_id
from privacy_service.core.types import UTCDateTime
from privacy_service.keys.fields import encrypted_column

ID = 26


class User(Base):
    """An account that can log in; ``roles`` is empty for customers, space-separated staff roles otherwise."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    )
    roles: Mapped[str] = mapped_column(String(200), default="")
    password: Mapped[bytes] = mapped_column(LargeBinary)  # peppered argon2id or legacy hash, crypto.passwords
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # signs in no more (admin disable)


class TotpFactor(Base):
    """A user's TOTP second factor; pending until confirmed with a first code."""

    __tablename__ = "totp_factors"

    user_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[bytes] = encrypted_column(nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecoveryCode(Base):
    """One single-use recovery code, stored as a keyed digest; ``used_at`` burns it."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(ID), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MfaChallenge(Base):
    """A password that verified, waiting for its second factor: the ``mfa_token`` is kept as a digest."""

    __tablename__ = "mfa_challenges"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    user_id: Mapped[str] = mapped_column(String(ID), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(ID), ForeignKey("clients.id", ondelete="CASCADE"))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UserSession(Base):
    """A login: one refresh-token family. Revoking it ends every token of the family."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(ID), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(ID), ForeignKey("clients.id", ondelete="CASCADE"))
    amr: Mapped[str] = mapped_column(String(50))  # space-separated: "pwd" or "pwd otp"
    user_agent: Mapped[bytes | None] = encrypted_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BrowserSession(Base):
    """A login session held by a browser on the web pages: the cookie's keyed digest, and its timeouts.

    It belongs to one ``UserSession`` (opened by the same login as the API's), so revoking that
    session, from the API or the pages, ends it too. ``area`` is where it was opened (the privacy
    center or the console); it admits nowhere else.
    """

    __tablename__ = "browser_sessions"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    session_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    area: Mapped[str] = mapped_column(String(16))  # identity.browser_sessions.Area
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RefreshToken(Base):
    """One opaque refresh token of a session, single-use: presenting a used one revokes the family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Client(Base):
    """A shop backend: an OAuth client with a secret shown once and stored as a keyed digest."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    secret_digest: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[str] = mapped_column(Text)  # space-separated, from identity.scopes.Scope
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RevokedAccessToken(Base):
    """An access token revoked before it expired (RFC 7009 §2.1), by ``jti``; kept until its ``exp``.

    A JWT cannot be recalled from the shops that hold it: this row makes this
    service's own checks and introspection refuse it, and the worker deletes
    it once the token would have expired anyway.
    """

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SigningKey(Base):
    """A token-signing key pair; the private half wrapped by the KEK, the public half published in the JWKS.

    Exactly one key is active at a time. A retired key stops signing but stays
    published until ``published_until``, when every token it signed has expired.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[str] = mapped_column(Text)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)  # wrapped by the key provider
    kek_version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginHold(Base):
    """An attempt on an account between its throttle check and its outcome: a second attempt on the
    same account is refused until the first records its outcome, or ``expires_at`` if it never does."""

    __tablename__ = "login_holds"

    key: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)  # the account's keyed digest
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginFailure(Base):
    """One failed login, counted against its account, end-user IP and client (each a keyed digest)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_scope_key_at", "scope", "key", "at"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(16))  # credentials.throttle.ThrottleScope
    key: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
