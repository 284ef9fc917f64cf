"""What the approval endpoints take and answer (API.md "The shop's own sensitive operations")."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from privacy_service.approvals.operations import Operation, canonical_json
from privacy_service.approvals.states import ApprovalStatus

#: A shop's own action: dotted lower-case (``order.amount_change``), so never a service action's name.
SHOP_ACTION_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
ShopAction = Annotated[str, StringConstraints(pattern=SHOP_ACTION_PATTERN, max_length=100)]
PartyTypeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)]
PartyId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
#: The largest ``details`` object, as compact JSON.
DETAILS_MAX_BYTES = 8192


class OperationTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: PartyTypeName
    id: PartyId


class OperationBody(BaseModel):
    """The operation to approve: what the shop will do, to what, with which details."""

    model_config = ConfigDict(extra="forbid")
    action: ShopAction
    target: OperationTarget
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("details")
    @classmethod
    def _canonical_and_bounded(cls, details: dict[str, Any]) -> dict[str, Any]:
        """Details the digest can be taken over (RFC 8785: finite numbers, integers within ±2^53), bounded."""
        if len(json.dumps(details, separators=(",", ":"))) > DETAILS_MAX_BYTES:
            raise ValueError(f"details must be at most {DETAILS_MAX_BYTES} bytes of JSON")
        canonical_json(details)  # NoCanonicalForm is a ValueError: a 422 naming the field
        return details

    def operation(self) -> Operation:
        return Operation(
            action=self.action, target_type=self.target.type, target_id=self.target.id, details=self.details
        )


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_id: PartyId
    operation: OperationBody


class ApprovalCreated(BaseModel):
    id: str
    status: ApprovalStatus
    expires_at: datetime
    operation_digest: str


class ApprovalConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=16, description="The subject's current TOTP code.")


class ApprovalTokenAnswer(BaseModel):
    approval_token: str


class ApprovalView(BaseModel):
    id: str
    subject_id: str
    status: ApprovalStatus
    operation_digest: str
    expires_at: datetime
    approved_at: datetime | None = None
