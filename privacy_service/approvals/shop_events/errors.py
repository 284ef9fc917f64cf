"""Named refusals of a shop's event, each mapped once to a problem by ``api/problems.py``."""

from __future__ import annotations

from privacy_service.core.errors import DomainError


class ShopEventError(DomainError):
    code = "shop_event_error"
    status = 400
    title = "The shop's event cannot be recorded"


class ApprovalRequired(ShopEventError):
    """The policy lists the action as needing an approval, and the event carries no ``approval_token``."""

    code = "approval_required"
    status = 403
    title = "This shop action needs an approval"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"policies/shop_actions.yaml lists {action} under require_approval: send the approval_token "
            "the subject's confirmation returned (POST /v1/approvals, then /confirm).",
            rule="shop_actions.yaml:require_approval",
            action=action,
        )


class IdempotencyKeyReused(ShopEventError):
    """An ``Idempotency-Key`` sent again with a different request: the first request's answer is not this
    one's, and recording a second event would defeat the key (Stripe answers such a request likewise)."""

    code = "idempotency_key_reused"
    status = 422
    title = "This Idempotency-Key was used for a different request"
