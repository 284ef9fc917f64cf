"""Recording an operation a shop performed: policy, approval, idempotency, then the event, in one transaction.

The event goes into the same chain as the service's own, with the shop's
actor and target and the client that recorded it (``recorded_by``, hashed with
the event). An action the policies list under ``require_approval`` is recorded
only with an ``approval_token``, which is used up in this same transaction;
the approval's id is kept beside the shop's details (``approval_id``), so a
reviewer sees which approval authorised each event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from privacy_service.approvals.operations import Operation
from privacy_service.approvals.service import use_approval
from privacy_service.approvals.shop_events import idempotency
from privacy_service.approvals.shop_events.errors import ApprovalRequired
from privacy_service.approvals.shop_events.idempotency import StoredAnswer
from privacy_service.audit.actions import Outcome, ShopAction, ShopParty
from privacy_service.audit.recorder import record_shop_event
from privacy_service.core.ids import new_id
from privacy_service.identity.credentials import Credentials
from privacy_service.policy import Policies
from privacy_service.work import Work

#: The key under which an event's details name the approval that authorised it; a shop's own details
#: may not use it (``schemas.py``), so it can never be claimed without a token.
APPROVAL_ID_KEY: Final = "approval_id"
CREATED: Final = 201


@dataclass(frozen=True, slots=True)
class ShopEvent:
    """What a shop asks to record, its names already checked (``ShopAction``, ``ShopParty``)."""

    action: ShopAction
    actor: ShopParty
    target: ShopParty
    outcome: Outcome
    details: Mapping[str, Any] | None = None
    approval_token: str | None = None

    def digest(self) -> str:
        """SHA-256 of the request as sent: a retry with the same ``Idempotency-Key`` must match it."""
        request = {
            "action": self.action.value,
            "actor": [self.actor.type, self.actor.id],
            "target": [self.target.type, self.target.id],
            "outcome": self.outcome.value,
            "details": None if self.details is None else dict(self.details),
            "approval_token": self.approval_token,
        }
        encoded = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Recorded:
    """The answer: ``status`` and ``body``, and whether it is the stored answer of an earlier request."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def record_event(
    work: Work,
    *,
    client_id: str,
    event: ShopEvent,
    policies: Policies,
    credentials: Credentials,
    idempotency_key: str | None = None,
) -> Recorded:
    """Record ``event`` for the client ``client_id``, or answer as the first request with its key did.

    Raises ``ApprovalRequired`` for a policy-listed action without a token,
    ``IdempotencyKeyReused`` for a key sent with another request, and the
    approvals' refusal for a token that does not approve exactly this operation.
    """
    event_id = new_id()
    body = {"id": event_id}
    if idempotency_key is not None:
        stored: StoredAnswer | None = idempotency.claim(
            work,
            client_id=client_id,
            key=idempotency_key,
            request_digest=event.digest(),
            status=CREATED,
            body=body,
        )
        if stored is not None:
            return Recorded(status=stored.status, body=stored.body, replayed=True)
    details = event.details
    if event.approval_token is not None:
        operation = Operation(
            action=event.action.value,
            target_type=event.target.type,
            target_id=event.target.id,
            details=dict(event.details or {}),
        )
        approval_id = use_approval(
            work,
            credentials=credentials,
            client_id=client_id,
            token=event.approval_token,
            operation=operation,
        )
        details = {**(event.details or {}), APPROVAL_ID_KEY: approval_id}
    elif event.action.value in policies.shop_actions_requiring_approval:
        raise ApprovalRequired(event.action.value)
    record_shop_event(
        work,
        recorded_by=client_id,
        actor=event.actor,
        action=event.action,
        target=event.target,
        outcome=event.outcome,
        details=details,
        event_id=event_id,
    )
    return Recorded(status=CREATED, body=body)
