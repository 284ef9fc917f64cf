"""A shop's approvals through HTTP: one operation, the customer's current code, a token for it, used once."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_service.approvals.models import Approval
from privacy_service.approvals.operations import Operation
from privacy_service.approvals.service import ApprovalTokenRefused, expire_approvals, use_approval
from privacy_service.audit.models import AuditEvent
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.scopes import Scope
from privacy_service.work import Workplace
from tests.functional.conftest import (
    Api,
    Customer,
    MakeShop,
    Shop,
    Staff,
    assert_problem,
    bearer,
    unverified_parts,
    verify_with_jwks,
)
from tests.functional.dsr_support import signed_in
from tests.functional.web_support import Browser, text_of

AMOUNT_CHANGE: dict[str, Any] = {
    "action": "order.amount_change",
    "target": {"type": "order", "id": "o-1042"},
    "details": {"from": "59.90", "to": "5.99", "currency": "EUR"},
}


@pytest.fixture
def approver(make_shop: MakeShop) -> Shop:
    return make_shop(Scope.APPROVALS_WRITE, name="order admin")


@pytest.fixture
def enrolled(api: Api, customer: Customer) -> pyotp.TOTP:
    """The customer's authenticator, enrolled through the API."""
    totp, _codes = api.enrol_totp(api.tokens(customer.email, customer.password))
    return totp


def ask(api: Api, shop: Shop, subject_id: str, operation: dict[str, Any] = AMOUNT_CHANGE) -> Any:
    answer = api.http.post(
        "/v1/approvals", json={"subject_id": subject_id, "operation": operation}, headers=shop.headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def confirm(api: Api, shop: Shop, approval_id: str, code: str) -> Any:
    return api.http.post(f"/v1/approvals/{approval_id}/confirm", json={"code": code}, headers=shop.headers)


def approved_token(
    api: Api, shop: Shop, customer: Customer, totp: pyotp.TOTP, operation: dict[str, Any]
) -> str:
    approval = ask(api, shop, customer.id, operation)
    answer = confirm(api, shop, approval["id"], api.fresh_code(totp))
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["approval_token"]
    return token


def credentials_of(client: TestClient) -> Credentials:
    credentials: Credentials = client.app.state.credentials  # type: ignore[attr-defined]
    return credentials


def use(client: TestClient, workplace: Workplace, shop: Shop, token: str, body: dict[str, Any]) -> str:
    """Use ``token`` for the operation ``body`` as ``shop``, in a unit of work of its own; the approval id."""
    with workplace.open() as work:
        return use_approval(
            work,
            credentials=credentials_of(client),
            client_id=shop.client_id,
            token=token,
            operation=operation_of(body),
        )


def operation_of(body: dict[str, Any]) -> Operation:
    return Operation(
        action=body["action"],
        target_type=body["target"]["type"],
        target_id=body["target"]["id"],
        details=body["details"],
    )


def test_an_approval_names_its_operation_by_digest_and_its_token_verifies_with_the_jwks(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP, session: Session
) -> None:
    approval = ask(api, approver, customer.id)
    assert approval["status"] == "pending"
    canonical = json.dumps(AMOUNT_CHANGE, sort_keys=True, separators=(",", ":")).encode()  # JCS, for ASCII
    assert approval["operation_digest"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
    answer = confirm(api, approver, approval["id"], api.fresh_code(enrolled))
    assert answer.status_code == 200, answer.text
    token = answer.json()["approval_token"]
    claims = verify_with_jwks(token, api.http.get("/.well-known/jwks.json").json()).claims
    assert claims["sub"] == customer.id
    assert claims["aud"] == approver.client_id
    assert claims["op"] == approval["operation_digest"]
    assert claims["amr"] == ["otp"]
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert {"jti", "auth_time"} <= claims.keys()
    assert unverified_parts(token)[0]["typ"] == "approval+jwt"
    shown = api.http.get(f"/v1/approvals/{approval['id']}", headers=approver.headers).json()
    assert shown["status"] == "approved"
    row = session.get(Approval, approval["id"])
    assert row is not None
    assert b"59.90" not in (row.details or b"")  # encrypted under the subject's key
    actions = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_id == customer.id, AuditEvent.action.like("approval_%")
        )
    ).all()
    assert actions == ["approval_request", "approval_confirm"]


def test_an_approval_token_is_no_access_token(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP
) -> None:
    token = approved_token(api, approver, customer, enrolled, AMOUNT_CHANGE)
    assert_problem(api.http.get("/v1/me/profile", headers=bearer(token)), 401, "invalid_token")


def test_a_code_used_to_sign_in_or_for_another_approval_is_refused(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP
) -> None:
    first, second = ask(api, approver, customer.id), ask(api, approver, customer.id)
    code = api.fresh_code(enrolled)
    assert confirm(api, approver, first["id"], code).status_code == 200
    assert_problem(confirm(api, approver, second["id"], code), 401, "mfa_code_replayed")
    api.tokens_with_totp(customer.email, customer.password, enrolled)
    used_at_login = api.code(enrolled)
    assert_problem(confirm(api, approver, second["id"], used_at_login), 401, "mfa_code_replayed")


def test_five_wrong_codes_refuse_the_approval(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP, session: Session
) -> None:
    approval = ask(api, approver, customer.id)
    for _ in range(5):
        api.clock.advance(timedelta(seconds=5))  # past the throttle's delay: the approval's count decides
        assert_problem(confirm(api, approver, approval["id"], api.wrong_code(enrolled)), 401, "invalid_code")
    assert_problem(
        confirm(api, approver, approval["id"], api.fresh_code(enrolled)), 409, "approval_not_pending"
    )
    assert (
        api.http.get(f"/v1/approvals/{approval['id']}", headers=approver.headers).json()["status"]
        == "refused"
    )
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "approval_refuse")) is not None


def test_a_subject_without_a_second_factor_gets_a_problem(
    api: Api, approver: Shop, customer: Customer
) -> None:
    answer = api.http.post(
        "/v1/approvals",
        json={"subject_id": customer.id, "operation": AMOUNT_CHANGE},
        headers=approver.headers,
    )
    assert_problem(answer, 409, "second_factor_not_enrolled")
    unknown = api.http.post(
        "/v1/approvals", json={"subject_id": "nobody", "operation": AMOUNT_CHANGE}, headers=approver.headers
    )
    assert_problem(unknown, 409, "second_factor_not_enrolled")  # no account tells nothing more


def test_an_approval_expires_unconfirmed(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP
) -> None:
    approval = ask(api, approver, customer.id)
    api.clock.advance(timedelta(seconds=5 * 60 + 1))
    assert_problem(
        confirm(api, approver, approval["id"], api.fresh_code(enrolled)), 409, "approval_not_pending"
    )
    assert (
        api.http.get(f"/v1/approvals/{approval['id']}", headers=approver.headers).json()["status"]
        == "expired"
    )


def test_another_client_sees_no_approval_but_staff_do(
    api: Api, approver: Shop, make_shop: MakeShop, customer: Customer, enrolled: pyotp.TOTP, officer: Staff
) -> None:
    approval = ask(api, approver, customer.id)
    other = make_shop(Scope.APPROVALS_WRITE, name="other shop")
    assert_problem(
        api.http.get(f"/v1/approvals/{approval['id']}", headers=other.headers), 404, "approval_not_found"
    )
    assert_problem(confirm(api, other, approval["id"], api.fresh_code(enrolled)), 404, "approval_not_found")
    seen = api.http.get(f"/v1/approvals/{approval['id']}", headers=signed_in(api, officer))
    assert seen.status_code == 200
    assert seen.json()["subject_id"] == customer.id


def test_approvals_need_their_scope_and_a_shop_action(api: Api, customer: Customer, shop: Shop) -> None:
    body = {"subject_id": customer.id, "operation": AMOUNT_CHANGE}
    assert_problem(api.http.post("/v1/approvals", json=body, headers=shop.headers), 403, "forbidden")
    for action in ("authn_login_success", "Order.Change", "order", "order." + "x" * 100):
        operation = {**AMOUNT_CHANGE, "action": action}
        answer = api.http.post("/v1/approvals", json={**body, "operation": operation}, headers=shop.headers)
        assert answer.status_code in (403, 422)


def test_details_that_have_no_canonical_form_or_are_too_large_are_refused(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP
) -> None:
    for details in ({"amount": 2**60}, {"blob": "x" * 9000}):
        operation = {**AMOUNT_CHANGE, "details": details}
        answer = api.http.post(
            "/v1/approvals",
            json={"subject_id": customer.id, "operation": operation},
            headers=approver.headers,
        )
        assert_problem(answer, 422, "validation_error")


# -- using a token: what the shop's event (POST /v1/audit/events) will do ----------------------------


def test_a_token_for_one_amount_is_refused_for_another_and_is_used_once(
    client: TestClient,
    api: Api,
    approver: Shop,
    customer: Customer,
    enrolled: pyotp.TOTP,
    workplace: Workplace,
) -> None:
    token = approved_token(api, approver, customer, enrolled, AMOUNT_CHANGE)
    other_amount = {**AMOUNT_CHANGE, "details": {**AMOUNT_CHANGE["details"], "to": "0.01"}}
    with pytest.raises(ApprovalTokenRefused, match="another operation"):
        use(client, workplace, approver, token, other_amount)
    reordered = {
        "target": AMOUNT_CHANGE["target"],
        "details": AMOUNT_CHANGE["details"],
        "action": AMOUNT_CHANGE["action"],
    }
    approval_id = use(client, workplace, approver, token, reordered)
    with pytest.raises(ApprovalTokenRefused, match="already used"):
        use(client, workplace, approver, token, AMOUNT_CHANGE)
    assert api.http.get(f"/v1/approvals/{approval_id}", headers=approver.headers).json()["status"] == "used"


def test_a_foreign_or_expired_token_is_refused(
    client: TestClient,
    api: Api,
    approver: Shop,
    make_shop: MakeShop,
    customer: Customer,
    enrolled: pyotp.TOTP,
    workplace: Workplace,
) -> None:
    other = make_shop(Scope.APPROVALS_WRITE, name="other shop")
    token = approved_token(api, approver, customer, enrolled, AMOUNT_CHANGE)
    with pytest.raises(ApprovalTokenRefused, match="not valid"):
        use(client, workplace, other, token, AMOUNT_CHANGE)
    api.clock.advance(timedelta(seconds=301))  # within the JWT leeway, the approval's own expiry refuses it
    with pytest.raises(ApprovalTokenRefused, match="expired"):
        use(client, workplace, approver, token, AMOUNT_CHANGE)
    api.clock.advance(timedelta(minutes=5))  # past the leeway too: the token itself no longer verifies
    with pytest.raises(ApprovalTokenRefused, match="not valid"):
        use(client, workplace, approver, token, AMOUNT_CHANGE)


def test_the_worker_expires_an_approved_token_left_unused(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP, workplace: Workplace, session: Session
) -> None:
    token = approved_token(api, approver, customer, enrolled, AMOUNT_CHANGE)
    approval_id = session.scalars(select(Approval.id).where(Approval.status == "approved")).one()
    api.clock.advance(timedelta(seconds=301))
    with workplace.open() as work:
        assert expire_approvals(work) == 1
    assert (
        api.http.get(f"/v1/approvals/{approval_id}", headers=approver.headers).json()["status"] == "expired"
    )
    assert token


def test_a_recovery_code_approves_nothing(api: Api, approver: Shop, customer: Customer) -> None:
    """Recovery codes restore an account; an approval binds the authenticator itself."""
    totp, recovery_codes = api.enrol_totp(api.tokens(customer.email, customer.password))
    approval = ask(api, approver, customer.id)
    assert_problem(confirm(api, approver, approval["id"], recovery_codes[0]), 401, "invalid_code")
    assert confirm(api, approver, approval["id"], api.fresh_code(totp)).status_code == 200


def test_the_customer_sees_the_approvals_they_gave_in_the_privacy_center(
    client: TestClient, api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP
) -> None:
    approved_token(api, approver, customer, enrolled, AMOUNT_CHANGE)
    ask(api, approver, customer.id, {**AMOUNT_CHANGE, "action": "payout.account_change"})
    browser = Browser(client)
    browser.sign_in_fully(api, customer.email, customer.password, enrolled)
    shown = text_of(browser.get("/security"))
    assert "<title>Sign-in and security" in browser.get("/security").text
    assert "order.amount_change · order o-1042" in shown
    assert "to 5.99" in shown  # the details, opened with the customer's key for them alone
    assert "Approved" in shown
    assert "payout.account_change" in shown
    assert "Waiting for your code" in shown


def test_a_code_typed_late_in_the_window_still_gives_the_shop_the_tokens_whole_life(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP
) -> None:
    approval = ask(api, approver, customer.id)
    api.clock.advance(timedelta(minutes=4, seconds=20))
    answer = confirm(api, approver, approval["id"], api.fresh_code(enrolled))  # 4 min 50 s in
    assert answer.status_code == 200, answer.text
    claims = unverified_parts(answer.json()["approval_token"])[1]
    assert claims["exp"] - claims["iat"] == 300


def test_an_operation_no_event_could_record_is_refused_when_asked(
    api: Api, approver: Shop, customer: Customer, enrolled: pyotp.TOTP
) -> None:
    """The operation is checked as the event that would use the approval is: a service party's kind, or a
    detail the service sets itself, could never be recorded, so no approval is asked for them."""
    for operation in (
        {**AMOUNT_CHANGE, "target": {"type": "client", "id": approver.client_id}},
        {**AMOUNT_CHANGE, "details": {"approval_id": "forged"}},
    ):
        answer = api.http.post(
            "/v1/approvals",
            json={"subject_id": customer.id, "operation": operation},
            headers=approver.headers,
        )
        assert_problem(answer, 422, "validation_error")
