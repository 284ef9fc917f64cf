"""The audit vocabulary: what happened (``Action``), how it ended (``Outcome``), who or what took part,
and what became of an event's details (``DetailsState``).

Action names follow the OWASP Logging Vocabulary (``authn_login_success``,
``authz_fail``, ``sensitive_read``…) where it has a name, and the same style
otherwise; they never contain a dot, which stays free for shops' own actions
(``order.amount_change``). Nobody types an action string anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class Party:
    """An actor or a target of an event, named by type and id."""

    type: PartyType
    id: str

    @property
    def is_subject(self) -> bool:
        return self.type in SUBJECT_PARTIES


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
