"""The shapes of identity's requests and answers at the HTTP edge (API.md "Authentication")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from privacy_service.crypto.passwords import MAX_PASSWORD_LENGTH
from privacy_service.vault.schemas import (
    CountryCode,
    EmailAddress,
    ExtraFields,
    LocaleTag,
    PersonName,
    PhoneNumber,
)

# Long enough for any passphrase the rules allow, short enough that argon2 is never fed megabytes.
Password = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistrationProfile(Strict):
    """The further profile fields a shop may send at registration (``email`` and ``country`` are top-level).

    Checked here, at the edge, so a bad field is a 422 naming it, never a failure inside the service.
    """

    given_name: PersonName | None = None
    family_name: PersonName | None = None
    phone: PhoneNumber | None = None
    locale: LocaleTag | None = None
    extra: ExtraFields | None = None

    def profile_values(self) -> dict[str, Any]:
        """The fields sent with a value, as the vault's profile takes them."""
        return self.model_dump(exclude_none=True)


class Registration(Strict):
    email: EmailAddress
    password: str = Password
    country: CountryCode
    profile: RegistrationProfile | None = None


class Created(BaseModel):
    id: str


class LoginContext(Strict):
    """The end user's connection as the shop saw it; trusted only because the client is authenticated."""

    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1024)


class LoginRequest(Strict):
    email: str = Field(min_length=1, max_length=320)
    password: str = Password
    context: LoginContext | None = None


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - RFC 6750 token type
    expires_in: int
    password_change_required: bool = Field(
        default=False,
        description="The password is on the list of common or breached passwords: "
        "ask the customer to change it (ASVS 2.1.7).",
    )


class MfaRequired(BaseModel):
    mfa_required: bool = True
    mfa_token: str
    password_change_required: bool = False


class MfaRequest(Strict):
    mfa_token: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=32)
    context: LoginContext | None = Field(
        default=None,
        description="The end user's connection, as for the login: the session opened here shows its "
        "user agent.",
    )


class TotpEnrolmentView(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class CodeRequest(Strict):
    code: str = Field(min_length=1, max_length=32)


class RecoveryCodesView(BaseModel):
    recovery_codes: list[str]


class PasswordChange(Strict):
    current_password: str = Password
    new_password: str = Password


class SessionItem(BaseModel):
    id: str
    client_id: str
    amr: list[str]
    user_agent: str | None
    created_at: str
    last_used_at: str
    current: bool


class SessionList(BaseModel):
    items: list[SessionItem]
    next_cursor: str | None = None
