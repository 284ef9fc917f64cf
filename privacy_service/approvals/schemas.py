"""What the approval endpoints take and answer (API.md "The shop's own sensitive operations")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from privacy_service.approvals.operations import Operation, canonical_json
from privacy_service.approvals.shop_events.schemas import ShopActionIn, ShopDetails, ShopPartyIn
from privacy_service.approvals.states import ApprovalStatus

PartyId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _canonical(details: dict[str, Any]) -> dict[str, Any]:
    """Details the digest can be taken over (RFC 8785: finite numbers, integers within ±2^53)."""
    canonical_json(details)  # NoCanonicalForm is a ValueError: a 422 naming the field
    return details


class OperationBody(BaseModel):
    """The operation to approve: what the shop will do, to what, with which details.

    Checked as the event that will use the approval is (``shop_events.schemas``): an approval no
    event could ever carry out is refused when it is asked for, not when its token is used.
    """

    model_config = ConfigDict(extra="forbid")
    action: ShopActionIn
    target: ShopPartyIn
    details: Annotated[ShopDetails, AfterValidator(_canonical)] = Field(default_factory=dict)

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
