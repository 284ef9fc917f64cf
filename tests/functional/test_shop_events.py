"""A shop records its own operations into the audit trail (POST /v1/audit/events), beside the service's."""

from __future__ import annotations

import re
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.approvals.operations import Operation
from privacy_service.approvals.service import ApprovalTokenRefused, confirm_approval, request_approval
from privacy_service.approvals.shop_events.models import IdempotencyKey
from privacy_service.approvals.shop_events.schemas import MAX_DETAILS_BYTES
from privacy_service.approvals.shop_events.service import ShopEvent, record_event
from privacy_service.audit.actions import Action, Outcome, PartyType, ShopAction, ShopParty
from privacy_service.audit.models import AuditEvent
from privacy_service.core import migrations
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.core.db import create_engine_for, create_session_factory
from privacy_service.identity.accounts import register_user
from privacy_service.identity.clients import register_client
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.mfa import enrol_confirmed_totp
from privacy_service.identity.scopes import Role, Scope
from privacy_service.keys.service import Keyring
from privacy_service.main import create_app
from privacy_service.policy import Policies, load_policies
from privacy_service.work import Workplace
from tests.conftest import make_settings, requires_postgres, scratch_database
from tests.functional.conftest import (
    Api,
    Customer,
    MakeShop,
    MakeStaff,
    Shop,
    UserTokens,
    assert_problem,
)
from tests.functional.test_audit_api import seal
from tests.functional.web_support import Browser, text_of
from tests.unit.audit.tampering import drop_guards, set_columns

EVENTS = "/v1/audit/events"
SHIPPED_POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def shop_policies(tmp_path: Path) -> Policies:
    """The shipped policies, with order.amount_change needing an approval."""
    directory = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, directory)
    (directory / "shop_actions.yaml").write_text(
        "require_approval:\n  - order.amount_change\n  - payout.account_change\n", encoding="utf-8"
    )
    return load_policies(directory, environ={})


@pytest.fixture
def app(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    keyring: Keyring,
    credentials: Credentials,
    shop_policies: Policies,
) -> FastAPI:
    app = create_app(
        settings, engine=engine, clock=clock, keyring=keyring, credentials=credentials, policies=shop_policies
    )
    app.state.sessions = sessions
    return app


@pytest.fixture
def recorder(make_shop: MakeShop) -> Shop:
    return make_shop(Scope.AUDIT_WRITE, Scope.APPROVALS_WRITE, name="order system")


@pytest.fixture
def officer(api: Api, make_staff: MakeStaff) -> UserTokens:
    staff = make_staff((Role.COMPLIANCE_OFFICER,))
    assert staff.totp is not None
    return api.tokens_with_totp(staff.email, staff.password, staff.totp)


def event(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "action": "order.refund",
        "actor": {"type": "staff_member", "id": "clerk-7"},
        "target": {"type": "order", "id": "o-1001"},
        "outcome": "success",
        "details": {"amount": "12.00", "currency": "EUR"},
    }
    body.update(changes)
    return body


def post(api: Api, shop: Shop, body: dict[str, Any], **headers: str) -> httpx.Response:
    response: httpx.Response = api.http.post(EVENTS, json=body, headers={**shop.headers, **headers})
    return response


def events_where(api: Api, officer: UserTokens, **params: str) -> list[dict[str, Any]]:
    response = api.http.get(EVENTS, params={"limit": "500", **params}, headers=officer.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def count_events(session: Session, action: str) -> int:
    return (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0
    )


# -- recording and reading back ---------------------------------------------------------------------


def test_a_shop_event_is_recorded_and_an_officer_reads_it_back_filtered_with_its_recording_client(
    api: Api, recorder: Shop, officer: UserTokens
) -> None:
    response = post(api, recorder, event())
    assert response.status_code == 201, response.text
    event_id = response.json()["id"]
    [item] = events_where(api, officer, action="order.refund", target="order:o-1001")
    assert item["id"] == event_id
    assert item["actor"] == {"type": "staff_member", "id": "clerk-7"}
    assert (item["outcome"], item["recorded_by"]) == ("success", recorder.client_id)
    assert item["details"] == {"amount": "12.00", "currency": "EUR"}
    assert events_where(api, officer, actor="staff_member:clerk-7")[0]["id"] == event_id
    assert all(other["recorded_by"] is None for other in events_where(api, officer, action="audit_read"))


def test_the_chain_verifies_with_shop_events_and_a_changed_recording_client_is_located(
    api: Api, recorder: Shop, officer: UserTokens, workplace: Workplace, session: Session
) -> None:
    for index in range(3):
        assert post(api, recorder, event(target={"type": "order", "id": f"o-{index}"})).status_code == 201
    seal(workplace)
    report = api.http.get("/v1/audit/verify", headers=officer.headers).json()
    assert report["ok"] is True
    shop_seq = session.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.action == "order.refund"))
    assert shop_seq is not None
    drop_guards(session)
    set_columns(session, shop_seq, recorded_by="another-client")
    report = api.http.get("/v1/audit/verify", headers=officer.headers).json()
    assert (report["ok"], report["first_bad_seq"], report["problem"]) == (False, shop_seq, "altered")


def test_details_naming_a_user_are_encrypted_under_their_key(
    api: Api, recorder: Shop, officer: UserTokens, customer: Customer, session: Session
) -> None:
    body = event(target={"type": "user", "id": customer.id}, details={"new_address": "1 Analytical Row"})
    event_id = post(api, recorder, body).json()["id"]
    stored = session.get_one(AuditEvent, event_id)
    assert stored.subject_id == customer.id
    assert stored.details is not None
    assert b"Analytical" not in stored.details
    [item] = events_where(api, officer, target=f"user:{customer.id}", action="order.refund")
    assert item["details"] == {"new_address": "1 Analytical Row"}


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", [Action.AUTHN_LOGIN_SUCCESS.value, Action.USER_CREATE.value, "order"])
def test_a_shop_cannot_record_a_service_action(
    api: Api, recorder: Shop, session: Session, action: str
) -> None:
    before = count_events(session, action)
    body = assert_problem(post(api, recorder, event(action=action)), 422, "validation_error")
    assert "action" in str(body)
    assert count_events(session, action) == before


@pytest.mark.parametrize(
    "change",
    [
        {"action": "Order.Refund"},
        {"action": "order." + "x" * 100},
        {"actor": {"type": "Staff", "id": "1"}},
        {"target": {"type": "order", "id": "x" * 65}},
        {"target": {"type": "o" * 33, "id": "1"}},
        {"outcome": "maybe"},
        {"details": {"blob": "x" * MAX_DETAILS_BYTES}},
        {"details": {"approval_id": "forged"}},
        {"details": ["not", "an", "object"]},
        {"extra": 1},
    ],
)
def test_a_bad_name_size_or_shape_is_refused_with_422(
    api: Api, recorder: Shop, change: dict[str, Any]
) -> None:
    assert_problem(post(api, recorder, event(**change)), 422, "validation_error")


@pytest.mark.parametrize("kind", sorted(kind.value for kind in PartyType if kind is not PartyType.USER))
def test_a_shop_cannot_name_the_services_own_kinds_of_party(
    api: Api, recorder: Shop, officer: UserTokens, kind: str
) -> None:
    """Filtering the trail by ``actor=client:C`` finds what client C did, never what a shop wrote it did."""
    refused = post(api, recorder, event(actor={"type": kind, "id": recorder.client_id}))
    assert_problem(refused, 422, "validation_error")
    assert events_where(api, officer, actor=f"{kind}:{recorder.client_id}", action="order.refund") == []


def test_a_client_without_audit_write_is_refused(api: Api, make_shop: MakeShop, customer: Customer) -> None:
    other = make_shop(Scope.VAULT_WRITE, name="no audit")
    assert_problem(post(api, other, event()), 403, "forbidden")
    user = api.tokens(customer.email, customer.password)
    assert_problem(api.http.post(EVENTS, json=event(), headers=user.headers), 403, "forbidden")
    assert api.http.post(EVENTS, json=event()).status_code == 401


def test_a_policy_listed_action_without_an_approval_is_refused_naming_the_rule(
    api: Api, recorder: Shop, session: Session
) -> None:
    body = assert_problem(post(api, recorder, event(action="order.amount_change")), 403, "approval_required")
    assert (body["rule"], body["action"]) == ("shop_actions.yaml:require_approval", "order.amount_change")
    assert count_events(session, "order.amount_change") == 0


AMOUNT_CHANGE: dict[str, Any] = {
    "action": "order.amount_change",
    "target": {"type": "order", "id": "o-1042"},
    "details": {"from": "59.90", "to": "5.99", "currency": "EUR"},
}


@pytest.fixture
def approved(api: Api, recorder: Shop, customer: Customer) -> str:
    """An approval token of ``recorder``'s for AMOUNT_CHANGE, confirmed with the customer's current code."""
    totp, _codes = api.enrol_totp(api.tokens(customer.email, customer.password))
    asked = api.http.post(
        "/v1/approvals",
        json={"subject_id": customer.id, "operation": AMOUNT_CHANGE},
        headers=recorder.headers,
    )
    assert asked.status_code == 201, asked.text
    confirmed = api.http.post(
        f"/v1/approvals/{asked.json()['id']}/confirm",
        json={"code": api.fresh_code(totp)},
        headers=recorder.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    token: str = confirmed.json()["approval_token"]
    return token


def approved_event(token: str, **changes: Any) -> dict[str, Any]:
    return event(**{**AMOUNT_CHANGE, "approval_token": token, **changes})


def test_an_approved_event_is_recorded_once_with_the_approval_that_authorised_it(
    api: Api, recorder: Shop, approved: str, officer: UserTokens, session: Session
) -> None:
    recorded = post(api, recorder, approved_event(approved))
    assert recorded.status_code == 201, recorded.text
    [shown] = events_where(api, officer, action="order.amount_change")
    assert shown["details"]["approval_id"]
    assert shown["details"]["to"] == "5.99"
    again = post(api, recorder, approved_event(approved))  # a second event for the same approval
    assert_problem(again, 403, "approval_token_refused")
    assert count_events(session, "order.amount_change") == 1
    assert count_events(session, "approval_use") == 1


def test_a_token_for_one_amount_is_refused_for_another(
    api: Api, recorder: Shop, approved: str, session: Session
) -> None:
    other_amount = {**AMOUNT_CHANGE["details"], "to": "0.01"}
    assert_problem(
        post(api, recorder, approved_event(approved, details=other_amount)), 403, "approval_token_refused"
    )
    other_order = {"type": "order", "id": "o-9999"}
    assert_problem(
        post(api, recorder, approved_event(approved, target=other_order)), 403, "approval_token_refused"
    )
    assert count_events(session, "order.amount_change") == 0
    assert post(api, recorder, approved_event(approved)).status_code == 201  # the approval was not used up


def test_a_token_with_details_that_have_no_canonical_form_is_refused_not_a_500(
    api: Api, recorder: Shop, approved: str, session: Session
) -> None:
    beyond_json_integers = {**AMOUNT_CHANGE["details"], "cents": 2**60}
    refused = post(api, recorder, approved_event(approved, details=beyond_json_integers))
    assert_problem(refused, 403, "approval_token_refused")
    assert count_events(session, "order.amount_change") == 0


def test_another_clients_or_an_expired_token_is_refused(
    api: Api, recorder: Shop, approved: str, make_shop: MakeShop, session: Session
) -> None:
    other = make_shop(Scope.AUDIT_WRITE, name="other shop")
    assert_problem(post(api, other, approved_event(approved)), 403, "approval_token_refused")
    api.clock.advance(timedelta(seconds=301))
    assert_problem(post(api, recorder, approved_event(approved)), 403, "approval_token_refused")
    assert count_events(session, "order.amount_change") == 0


# -- idempotency -----------------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_no_second_event(
    api: Api, recorder: Shop, session: Session
) -> None:
    first = post(api, recorder, event(), **{"Idempotency-Key": "refund-o-1001-1"})
    again = post(api, recorder, event(), **{"Idempotency-Key": "refund-o-1001-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count_events(session, "order.refund") == 1
    assert post(api, recorder, event(), **{"Idempotency-Key": "refund-o-1001-2"}).json() != first.json()


def test_an_idempotency_key_is_the_client_s_own(api: Api, recorder: Shop, make_shop: MakeShop) -> None:
    other = make_shop(Scope.AUDIT_WRITE, name="other shop")
    first = post(api, recorder, event(), **{"Idempotency-Key": "k-1"})
    second = post(api, other, event(), **{"Idempotency-Key": "k-1"})
    assert second.status_code == 201
    assert second.json() != first.json()


def test_the_same_idempotency_key_with_another_body_is_refused(
    api: Api, recorder: Shop, session: Session
) -> None:
    assert post(api, recorder, event(), **{"Idempotency-Key": "k-2"}).status_code == 201
    changed = event(details={"amount": "99.00", "currency": "EUR"})
    assert_problem(post(api, recorder, changed, **{"Idempotency-Key": "k-2"}), 422, "idempotency_key_reused")
    assert count_events(session, "order.refund") == 1


@pytest.mark.parametrize("key", [b"", b"with space", "é".encode(), b"x" * 256])
def test_a_malformed_idempotency_key_is_refused(api: Api, recorder: Shop, key: bytes) -> None:
    headers: dict[str, str | bytes] = {**recorder.headers, "Idempotency-Key": key}
    response = api.http.post(EVENTS, json=event(), headers=headers)
    assert_problem(response, 422, "validation_error")


def test_a_refused_request_keeps_no_idempotency_key(api: Api, recorder: Shop, session: Session) -> None:
    refused = post(api, recorder, event(action="order.amount_change"), **{"Idempotency-Key": "k-3"})
    assert refused.status_code == 403
    assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


@requires_postgres
@pytest.mark.postgres
def test_two_concurrent_requests_with_one_key_record_one_event(
    tmp_path: Path, credentials: Credentials, keyring: Keyring, shop_policies: Policies
) -> None:
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path / "data"), database_url=url)
        try:
            migrations.upgrade(engine)
            workplace = Workplace(
                sessions=create_session_factory(engine), clock=FrozenClock(), keyring=keyring
            )
            with workplace.open() as work:
                client_id = register_client(
                    work, digests=credentials.digests, name="shop", scopes=[Scope.AUDIT_WRITE]
                ).client_id
            shop_event = ShopEvent(
                action=ShopAction("order.refund"),
                actor=ShopParty(type="staff_member", id="clerk-7"),
                target=ShopParty(type="order", id="o-1"),
                outcome=Outcome.SUCCESS,
            )
            second_started = threading.Event()
            answers: dict[str, Any] = {}

            def send(name: str) -> None:
                if name == "second":
                    second_started.set()
                with workplace.open() as work:
                    answers[name] = record_event(
                        work, client_id=client_id, event=shop_event, policies=shop_policies,
                        credentials=credentials, idempotency_key="concurrent",
                    )  # fmt: skip
                    if name == "first":
                        # Hold the claim uncommitted while the second request inserts the same key.
                        second_started.wait(timeout=10)
                        time.sleep(0.5)

            first = threading.Thread(target=send, args=("first",))
            first.start()
            while "first" not in answers:
                time.sleep(0.01)
            second = threading.Thread(target=send, args=("second",))
            second.start()
            first.join(timeout=30)
            second.join(timeout=30)
            assert answers["first"].body == answers["second"].body
            assert (answers["first"].replayed, answers["second"].replayed) == (False, True)
            with Session(engine) as session:
                assert count_events(session, "order.refund") == 1
        finally:
            engine.dispose()


@requires_postgres
@pytest.mark.postgres
def test_two_concurrent_events_with_one_approval_token_record_one(
    tmp_path: Path, credentials: Credentials, keyring: Keyring, clock: FrozenClock, shop_policies: Policies
) -> None:
    """The approval's conditional UPDATE decides: the second use waits for the first, then finds it used."""
    with scratch_database(tmp_path) as url:
        engine = create_engine_for(make_settings(tmp_path / "data"), database_url=url)
        try:
            migrations.upgrade(engine)
            workplace = Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring)
            operation = Operation(
                action="order.amount_change",
                target_type="order",
                target_id="o-1042",
                details=AMOUNT_CHANGE["details"],
            )
            with workplace.open() as work:
                client_id = register_client(
                    work,
                    digests=credentials.digests,
                    name="shop",
                    scopes=[Scope.AUDIT_WRITE, Scope.APPROVALS_WRITE],
                ).client_id
                user = register_user(
                    work,
                    emails=credentials.emails,
                    passwords=credentials.passwords,
                    email="ada@example.com",
                    password="a long customer passphrase",
                )
                enrolment, _codes = enrol_confirmed_totp(
                    work, recovery=credentials.recovery, user_id=user.id, account_name="ada", issuer="shop"
                )
                approval = request_approval(
                    work,
                    client_id=client_id,
                    subject_id=user.id,
                    operation=operation,
                    lifetime=timedelta(minutes=5),
                )
            with workplace.open() as work:
                token = confirm_approval(
                    work,
                    credentials=credentials,
                    client_id=client_id,
                    approval_id=approval.id,
                    code=pyotp.TOTP(enrolment.secret).at(clock.now()),
                )
            shop_event = ShopEvent(
                action=ShopAction(operation.action),
                actor=ShopParty(type="staff_member", id="clerk-7"),
                target=ShopParty(type="order", id="o-1042"),
                outcome=Outcome.SUCCESS,
                details=AMOUNT_CHANGE["details"],
                approval_token=token,
            )
            second_started = threading.Event()
            answers: dict[str, Any] = {}

            def send(name: str) -> None:
                if name == "second":
                    second_started.set()
                try:
                    with workplace.open() as work:
                        answers[name] = record_event(
                            work, client_id=client_id, event=shop_event, policies=shop_policies,
                            credentials=credentials,
                        )  # fmt: skip
                        if name == "first":
                            # Hold the used approval uncommitted while the second request tries it.
                            second_started.wait(timeout=10)
                            time.sleep(0.5)
                except ApprovalTokenRefused as refused:
                    answers[name] = refused

            first = threading.Thread(target=send, args=("first",))
            first.start()
            while "first" not in answers:
                time.sleep(0.01)
            second = threading.Thread(target=send, args=("second",))
            second.start()
            first.join(timeout=30)
            second.join(timeout=30)
            assert answers["first"].status == 201
            assert isinstance(answers["second"], ApprovalTokenRefused)
            with Session(engine) as session:
                assert count_events(session, "order.amount_change") == 1
                assert count_events(session, "approval_use") == 1
        finally:
            engine.dispose()


def test_the_console_shows_shop_events_filtered_by_action_and_target_with_their_recording_client(
    client: TestClient, api: Api, recorder: Shop, make_staff: MakeStaff
) -> None:
    assert post(api, recorder, event()).status_code == 201
    assert post(api, recorder, event(action="order.cancel")).status_code == 201
    staff = make_staff((Role.COMPLIANCE_OFFICER,))
    assert staff.totp is not None
    console = Browser(client, root="/console")
    console.sign_in_fully(api, staff.email, staff.password, staff.totp)
    page = console.get("/audit?action=order.refund&target=order:o-1001")
    assert page.status_code == 200
    shown = text_of(page)
    assert "order.refund" in shown
    assert "order.cancel" not in shown
    assert f"client:{recorder.client_id}" in shown


def test_the_console_links_an_approved_event_to_its_approval(
    client: TestClient, api: Api, recorder: Shop, approved: str, make_staff: MakeStaff
) -> None:
    assert post(api, recorder, approved_event(approved)).status_code == 201
    staff = make_staff((Role.COMPLIANCE_OFFICER,))
    assert staff.totp is not None
    console = Browser(client, root="/console")
    console.sign_in_fully(api, staff.email, staff.password, staff.totp)
    trail = console.get("/audit?action=order.amount_change")
    link = re.search(r'href="/console(/approvals/[0-9a-z]+)"', trail.text)
    assert link is not None
    approval = console.get(link[1])
    assert approval.status_code == 200
    assert "Approved and used" in text_of(approval)
    assert "5.99" not in approval.text  # the operation's details stay encrypted, and off this page
