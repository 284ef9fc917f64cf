"""The body of ``POST /v1/audit/events`` and its answer (API.md "The shop's own sensitive operations").

Names are checked by the trail's own rules (``audit.actions.ShopAction`` and
``ShopParty``), so the edge and the recorder can never disagree; a refusal is
a 422 naming the field.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, model_validator

from privacy_service.audit.actions import InvalidShopName, Outcome, ShopAction, ShopParty

#: The largest ``details`` a shop may send, as compact UTF-8 JSON, and how deep it may nest.
MAX_DETAILS_BYTES: Final = 8192
MAX_DETAILS_DEPTH: Final = 8
APPROVAL_TOKEN_MAX_LENGTH: Final = 4096
IDEMPOTENCY_KEY_PATTERN: Final = r"^[\x21-\x7e]{1,255}$"  # printable ASCII without spaces, as Stripe's
RESERVED_DETAILS_KEYS: Final = frozenset({"approval_id"})  # set by the service from the approval used


def shop_action_name(value: str) -> str:
    try:
        return ShopAction(value).value
    except InvalidShopName as error:
        raise ValueError(str(error)) from None


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def bounded_details(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    if RESERVED_DETAILS_KEYS & value.keys():
        raise ValueError("approval_id is set by the service from the approval_token; a shop cannot send it")
    if _depth(value) > MAX_DETAILS_DEPTH:
        raise ValueError(f"must nest at most {MAX_DETAILS_DEPTH} levels deep")
    try:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
    except ValueError:
        raise ValueError("must not contain NaN or infinite numbers") from None
    if size > MAX_DETAILS_BYTES:
        raise ValueError(f"must be at most {MAX_DETAILS_BYTES} bytes as compact JSON")
    return value


#: A shop's action and details as a request sends them: an event, or the operation an approval is for.
ShopActionIn = Annotated[str, AfterValidator(shop_action_name)]
ShopDetails = Annotated[dict[str, JsonValue], AfterValidator(bounded_details)]


class ShopPartyIn(BaseModel):
    """A party in the shop's terms: ``type`` lower-case (``user`` is a privacy-service user id)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(examples=["order"])
    id: str = Field(examples=["o-1001"])

    @model_validator(mode="after")
    def _a_shop_party(self) -> ShopPartyIn:
        try:
            ShopParty(type=self.type, id=self.id)
        except InvalidShopName as error:
            raise ValueError(str(error)) from None
        return self

    def party(self) -> ShopParty:
        return ShopParty(type=self.type, id=self.id)


class ShopEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: ShopActionIn = Field(
        examples=["order.amount_change"],
        description="The shop's own action: dotted lower-case, at least two segments, at most 100 "
        "characters; never one of the service's actions, which have no dot.",
    )
    actor: ShopPartyIn
    target: ShopPartyIn
    outcome: Outcome
    details: ShopDetails | None = Field(
        default=None,
        description=f"Any JSON object up to {MAX_DETAILS_BYTES} bytes; encrypted under the subject's key "
        "when the actor or the target is a user. The key approval_id is the service's.",
    )
    approval_token: str | None = Field(default=None, min_length=1, max_length=APPROVAL_TOKEN_MAX_LENGTH)


class ShopEventCreated(BaseModel):
    id: str
