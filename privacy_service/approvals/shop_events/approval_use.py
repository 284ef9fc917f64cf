"""The one place a shop event's ``approval_token`` is used up: ``approvals.service.use_approval``.

That service, its ``Operation`` and the tokens are the other half of issue 21,
built beside this one. Until it is on this branch a token is refused
(``ApprovalTokenUnsupported``), never ignored: an event must not look approved
when nothing checked its approval.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from privacy_service.approvals.shop_events.errors import ApprovalTokenUnsupported
from privacy_service.audit.actions import ShopAction, ShopParty
from privacy_service.identity.credentials import Credentials
from privacy_service.work import Work

_APPROVALS = "privacy_service.approvals"


def use_approval_token(
    work: Work,
    *,
    credentials: Credentials,
    client_id: str,
    token: str,
    action: ShopAction,
    target: ShopParty,
    details: Mapping[str, Any],
) -> str:
    """Use up the approval ``token`` names for exactly this operation, in ``work``; return its id.

    Raises the approvals' own ``DomainError`` when the token is invalid, expired,
    issued to another client, used, or approves another operation.
    """
    # MERGE (issue 21): replace these lookups with
    #   from privacy_service.approvals.operations import Operation
    #   from privacy_service.approvals.service import use_approval
    # once privacy_service/approvals/service.py lands; until then a token gets a clear 422.
    try:
        service = importlib.import_module(f"{_APPROVALS}.service")
        operations = importlib.import_module(f"{_APPROVALS}.operations")
    except ModuleNotFoundError as missing:
        if missing.name not in (f"{_APPROVALS}.service", f"{_APPROVALS}.operations"):
            raise
        raise ApprovalTokenUnsupported(
            "This service does not check approval tokens yet; send the event without approval_token."
        ) from None
    operation = operations.Operation(
        action=action.value, target_type=target.type, target_id=target.id, details=dict(details)
    )
    approval_id = service.use_approval(
        work, credentials=credentials, client_id=client_id, token=token, operation=operation
    )
    return str(approval_id)
