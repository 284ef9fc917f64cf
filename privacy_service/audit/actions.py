"""The audit vocabulary: what happened (``Action``), how it ended (``Outcome``), who or what took part,
and what became of an event's details (``DetailsState``).

Action names follow the OWASP Logging Vocabulary (``authn_login_success``,
``authz_fail``, ``sensitive_read``…) where it has a name, and the same style
otherwise; they never contain a dot, which stays free for shops' own actions
(``order.amount_change``). Nobody types an action string anywhere else.

A shop's own events (``POST /v1/audit/events``) name their action and parties
in the shop's terms: ``ShopAction`` and ``ShopParty`` hold those names, checked
when they are made, so the service's own vocabulary stays closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

#: The sizes of ``audit_events``' columns (``models.py``) that these names must fit.
ACTION_LENGTH: Final = 100
PARTY_TYPE_LENGTH: Final = 32
PARTY_ID_LENGTH: Final = 64


class Action(StrEnum):
    APPROVAL_CONFIRM = "approval_confirm"
    APPROVAL_EXPIRE = "approval_expire"
    APPROVAL_REFUSE = "approval_refuse"
    APPROVAL_REQUEST = "approval_request"
    APPROVAL_USE = "approval_use"
    AUDIT_READ = "audit_read"
    AUTHN_LOGIN_FAIL = "authn_login_fail"
    AUTHN_LOGIN_SUCCESS = "authn_login_success"
    AUTHN_PASSWORD_CHANGE = "authn_password_change"  # noqa: S105 - an action name, not a secret
    AUTHN_TOKEN_REUSE = "authn_token_reuse"  # noqa: S105 - an action name, not a secret
    AUTHZ_FAIL = "authz_fail"
    CLIENT_CREATE = "client_create"
    CLIENT_DISABLE = "client_disable"
    CLIENT_SECRET_ROTATE = "client_secret_rotate"  # noqa: S105 - an action name, not a secret
    DSR_APPROVE = "dsr_approve"
    DSR_CALLBACK_REFUSE = "dsr_callback_refuse"
    DSR_COMPLETE = "dsr_complete"
    DSR_CREATE = "dsr_create"
    DSR_EXPORT_DOWNLOAD = "dsr_export_download"
    DSR_EXTEND = "dsr_extend"
    DSR_NOTICE_DELIVER = "dsr_notice_deliver"
    DSR_NOTICE_FAIL = "dsr_notice_fail"
    DSR_RECORDS_PURGE = "dsr_records_purge"
    DSR_REJECT = "dsr_reject"
    DSR_TASK_COMPLETE = "dsr_task_complete"
    DSR_TASK_FAIL = "dsr_task_fail"
    ERASURE_REPLAY = "erasure_replay"
    KEY_ROTATE = "key_rotate"
    KEY_SHRED = "key_shred"
    MFA_DISABLE = "mfa_disable"
    MFA_ENABLE = "mfa_enable"
    MFA_RESET = "mfa_reset"
    SENSITIVE_DELETE = "sensitive_delete"
    SENSITIVE_READ = "sensitive_read"
    SENSITIVE_UPDATE = "sensitive_update"
    SESSION_REVOKE = "session_revoke"
    SIGNING_KEY_ROTATE = "signing_key_rotate"
    SYSTEM_CREATE = "system_create"
    SYSTEM_DELETE = "system_delete"
    TOKEN_REVOKE = "token_revoke"  # noqa: S105 - an action name, not a secret
    USER_CREATE = "user_create"
    USER_DISABLE = "user_disable"


class Outcome(StrEnum):
    FAILURE = "failure"
    SUCCESS = "success"


class PartyType(StrEnum):
    """The kind of thing an actor or a target is; ids are opaque, never an email or a name."""

    AUDIT_TRAIL = "audit_trail"
    CLIENT = "client"
    DOWNSTREAM_SYSTEM = "downstream_system"
    DSR = "dsr"
    KEY = "key"
    SESSION = "session"
    SIGNING_KEY = "signing_key"
    SUBJECT = "subject"
    SYSTEM = "system"
    USER = "user"


#: Parties that are data subjects: details of an event naming one are encrypted under their key.
SUBJECT_PARTIES = frozenset({PartyType.SUBJECT, PartyType.USER})
#: The service's kinds of party a shop's event may not name; ``user`` it may, meaning a user of the service.
_SERVICE_ONLY_PARTY_TYPES = frozenset(kind.value for kind in PartyType) - {PartyType.USER.value}


@dataclass(frozen=True, slots=True)
class Party:
    """An actor or a target of an event, named by type and id."""

    type: PartyType
    id: str

    @property
    def is_subject(self) -> bool:
        return self.type in SUBJECT_PARTIES

    @property
    def type_name(self) -> str:
        return self.type.value


def user_party(user_id: str) -> Party:
    return Party(type=PartyType.USER, id=user_id)


def client_party(client_id: str) -> Party:
    return Party(type=PartyType.CLIENT, id=client_id)


#: The service itself, for what the worker or an operator's command does.
SYSTEM = Party(type=PartyType.SYSTEM, id="privacy-service")


class DetailsState(StrEnum):
    """What became of an event's details: ``erased`` once the subject's key was shredded,
    ``unreadable`` if the stored ciphertext no longer opens (verification says why)."""

    AVAILABLE = "available"
    ERASED = "erased"
    NONE = "none"
    UNREADABLE = "unreadable"


# -- the shops' namespace ------------------------------------------------------------------------------

#: Dotted lower-case, at least two segments: never a service action, which never contains a dot.
SHOP_ACTION_PATTERN: Final = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+"
SHOP_PARTY_TYPE_PATTERN: Final = r"[a-z][a-z0-9_]*"
_SHOP_ACTION = re.compile(SHOP_ACTION_PATTERN)
_SHOP_PARTY_TYPE = re.compile(SHOP_PARTY_TYPE_PATTERN)


class InvalidShopName(ValueError):
    """A shop's action, party type or party id that the trail cannot hold as the shop's own."""


@dataclass(frozen=True, slots=True)
class ShopAction:
    """An operation a shop performed, named in its own namespace (``order.amount_change``)."""

    value: str

    def __post_init__(self) -> None:
        if len(self.value) > ACTION_LENGTH or not _SHOP_ACTION.fullmatch(self.value):
            raise InvalidShopName(
                f"must be dotted lower-case segments [a-z][a-z0-9_]*, at least two "
                f"(e.g. order.amount_change), at most {ACTION_LENGTH} characters"
            )


@dataclass(frozen=True, slots=True)
class ShopParty:
    """An actor or target of a shop's event, typed in the shop's words; a ``user`` is a data subject here."""

    type: str
    id: str

    def __post_init__(self) -> None:
        if len(self.type) > PARTY_TYPE_LENGTH or not _SHOP_PARTY_TYPE.fullmatch(self.type):
            raise InvalidShopName(
                f"the type must be lower-case [a-z][a-z0-9_]*, at most {PARTY_TYPE_LENGTH} characters"
            )
        if self.type in _SERVICE_ONLY_PARTY_TYPES:
            # An officer filtering the trail by ``actor=client:C`` must find what client C did, not
            # what a shop wrote that it did: the service's own kinds of party are not the shop's to name.
            raise InvalidShopName(
                f"the type {self.type!r} names the service's own parties; a shop's people are e.g. "
                "'staff_member' or 'customer', and 'user' a privacy-service user"
            )
        if not 0 < len(self.id) <= PARTY_ID_LENGTH or not self.id.isprintable():
            raise InvalidShopName(f"the id must be 1 to {PARTY_ID_LENGTH} printable characters")

    @property
    def is_subject(self) -> bool:
        return self.type in SUBJECT_PARTIES

    @property
    def type_name(self) -> str:
        return self.type
