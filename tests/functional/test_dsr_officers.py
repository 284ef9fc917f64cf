"""What officers and admins do with data subject requests: approve, reject, queue, systems, exports.

The application runs on a copy of the shipped policies in which the EU asks an
officer's approval for erasure (as a shop would turn it on) and a mailer is
declared in ``policies/``. Deliveries go to real downstream systems on
loopback, driven step by step on the frozen clock (``DsrDriver``).
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.sealer import seal_pending_events
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.dsr.exports import purge_expired_exports
from privacy_service.dsr.models import DsrExport
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.scopes import Role
from privacy_service.keys.service import Keyring
from privacy_service.main import create_app
from privacy_service.policy import Policies, RequestType, load_policies
from privacy_service.work import Workplace
from tests.functional.conftest import (
    Api,
    Customer,
    MakeCustomer,
    MakeStaff,
    Shop,
    Staff,
    assert_problem,
    unique_email,
)
from tests.functional.dsr_support import DsrDriver, file, signed_in, task_of, view
from tests.support.downstream import FakeDownstream, new_secret

SHIPPED_POLICIES = Path(__file__).resolve().parents[2] / "policies"
MAILER_SECRET = new_secret()
MAILER_SYSTEMS_YAML = """\
systems:
  - name: mailer
    url: http://127.0.0.1:9/notices
    secret_env: MAILER_WEBHOOK_SECRET
    request_types: [notice]
"""


@pytest.fixture
def officer_policies(tmp_path: Path) -> Policies:
    """The shipped policies, with `approval: [erasure]` on the EU and a mailer declared."""
    directory = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, directory)
    jurisdictions = directory / "jurisdictions.yaml"
    original = jurisdictions.read_text(encoding="utf-8")
    eu_block = original.index("code: eu_gdpr")
    approval = original.index("approval: []", eu_block)
    assert approval < original.index("code: uk_gdpr"), "the first approval after eu_gdpr is the EU's"
    jurisdictions.write_text(
        original[:approval] + "approval: [erasure]" + original[approval + len("approval: []") :],
        encoding="utf-8",
    )
    (directory / "systems.yaml").write_text(MAILER_SYSTEMS_YAML, encoding="utf-8")
    policies = load_policies(directory, environ={"MAILER_WEBHOOK_SECRET": MAILER_SECRET})
    eu, uk = policies.jurisdiction_for("DE"), policies.jurisdiction_for("GB")
    assert policies.needs_approval(jurisdiction=eu, request_type=RequestType.ERASURE)
    assert not policies.needs_approval(jurisdiction=eu, request_type=RequestType.ACCESS)
    assert not policies.needs_approval(jurisdiction=uk, request_type=RequestType.ERASURE)
    return policies


@pytest.fixture
def app(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    keyring: Keyring,
    credentials: Credentials,
    officer_policies: Policies,
) -> FastAPI:
    app = create_app(
        settings,
        engine=engine,
        clock=clock,
        keyring=keyring,
        credentials=credentials,
        policies=officer_policies,
    )
    app.state.sessions = sessions
    return app


@pytest.fixture
def admin(make_staff: MakeStaff) -> Staff:
    return make_staff((Role.ADMIN,))


def customer_in(api: Api, country: str) -> Customer:
    email = unique_email()
    response = api.register(email=email, country=country)
    assert response.status_code == 201, response.text
    return Customer(id=response.json()["id"], email=email, password="Tandem-Lighthouse-42")


def dsr_events(api: Api, workplace: Workplace, headers: dict[str, str], request_id: str) -> list[str]:
    """The actions of the sealed audit events about a request, in the chain's order."""
    with workplace.open() as work:
        seal_pending_events(work)
    response = api.http.get(
        "/v1/audit/events", params={"target": f"dsr:{request_id}", "limit": 500}, headers=headers
    )
    assert response.status_code == 200, response.text
    return [event["action"] for event in response.json()["items"]]


# -- approval --------------------------------------------------------------------------------------


def test_an_erasure_that_needs_approval_is_delivered_only_once_an_officer_approves(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    dsr_shop: Shop,
    officer: Staff,
    workplace: Workplace,
    clock: FrozenClock,
) -> None:
    dsr.register(orders)
    receipt = file(api, dsr_shop.headers, type="erasure", subject_id=customer.id)
    assert receipt["status"] == "awaiting_approval"

    dsr.deliver()  # the acknowledgement goes to the mailer at once; the task waits
    clock.advance(timedelta(days=3))
    dsr.deliver()
    assert orders.deliveries == [], "nothing leaves before an officer approves"
    waiting = view(api, receipt["id"], dsr_shop.headers)
    assert waiting["status"] == "awaiting_approval"
    assert task_of(waiting, "orders")["status"] == "pending"
    assert api.login(customer.email, customer.password).status_code == 200, "not erased yet"

    headers = signed_in(api, officer)
    approved = api.http.post(f"/v1/dsr/{receipt['id']}/approve", headers=headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "in_progress"

    dsr.deliver()
    [delivery] = orders.deliveries
    assert delivery.payload["type"] == "dsr.erasure"
    assert view(api, receipt["id"], headers)["status"] == "completed"
    assert api.login(customer.email, customer.password).status_code == 401
    # The declared mailer (a closed port) never took the acknowledgement; it gave up after three days.
    assert dsr_events(api, workplace, headers, receipt["id"]) == [
        "dsr_create", "dsr_notice_fail", "dsr_approve", "dsr_task_complete", "dsr_complete",
    ]  # fmt: skip


def test_approval_is_asked_only_where_the_policy_says(
    api: Api, dsr: DsrDriver, dsr_shop: Shop, customer: Customer
) -> None:
    in_the_uk = customer_in(api, "GB")
    assert file(api, dsr_shop.headers, type="erasure", subject_id=in_the_uk.id)["status"] == "received"
    assert file(api, dsr_shop.headers, type="access", subject_id=customer.id)["status"] == "received"
    assert (
        file(api, dsr_shop.headers, type="erasure", subject_id=customer.id)["status"] == "awaiting_approval"
    )


def test_a_rejected_request_cancels_its_tasks_and_shows_the_officer_why(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    dsr_shop: Shop,
    officer: Staff,
    workplace: Workplace,
) -> None:
    dsr.register(orders)
    receipt = file(api, dsr_shop.headers, type="erasure", subject_id=customer.id)
    headers = signed_in(api, officer)
    detail = "Fourth identical request this week; the customer was told by phone."

    rejected = api.http.post(
        f"/v1/dsr/{receipt['id']}/reject",
        json={"reason": "manifestly_unfounded", "detail": detail},
        headers=headers,
    )

    assert rejected.status_code == 200, rejected.text
    seen = view(api, receipt["id"], headers)
    assert seen["status"] == "rejected"
    assert seen["rejection"]["reason"] == "manifestly_unfounded"
    assert seen["rejection"]["detail"] == detail
    assert [task["status"] for task in seen["tasks"]] == ["cancelled"]
    assert seen["completed_at"] is not None
    dsr.deliver()
    assert orders.deliveries == []
    assert api.login(customer.email, customer.password).status_code == 200, (
        "a rejected erasure erases nothing"
    )
    assert_problem(
        api.http.post(f"/v1/dsr/{receipt['id']}/approve", headers=headers), 409, "invalid_transition"
    )
    assert_problem(
        api.http.post(f"/v1/dsr/{receipt['id']}/reject", json={"reason": "excessive"}, headers=headers),
        409,
        "invalid_transition",
    )
    assert dsr_events(api, workplace, headers, receipt["id"]) == ["dsr_create", "dsr_reject"]


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "because"},
        {},
        {"reason": "other", "detail": "x" * 2001},
        {"reason": "other", "surprise": True},
    ],
)
def test_a_rejection_needs_a_known_reason_and_a_bounded_detail(
    api: Api, customer: Customer, dsr_shop: Shop, officer: Staff, body: dict[str, object]
) -> None:
    receipt = file(api, dsr_shop.headers, type="erasure", subject_id=customer.id)
    headers = signed_in(api, officer)
    assert_problem(
        api.http.post(f"/v1/dsr/{receipt['id']}/reject", json=body, headers=headers), 422, "validation_error"
    )
    assert view(api, receipt["id"], headers)["status"] == "awaiting_approval"


def test_a_request_that_awaits_no_approval_cannot_be_approved(
    api: Api, customer: Customer, dsr_shop: Shop, officer: Staff
) -> None:
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    headers = signed_in(api, officer)
    assert_problem(
        api.http.post(f"/v1/dsr/{receipt['id']}/approve", headers=headers), 409, "invalid_transition"
    )
    assert view(api, receipt["id"], headers)["status"] == "received"
    assert_problem(api.http.post("/v1/dsr/no-such-request/approve", headers=headers), 404, "not_found")


def test_only_an_officer_signed_in_with_a_second_factor_approves_or_rejects(
    api: Api,
    customer: Customer,
    dsr_shop: Shop,
    make_staff: MakeStaff,
    admin: Staff,
) -> None:
    receipt = file(api, dsr_shop.headers, type="erasure", subject_id=customer.id)
    approve, reject = f"/v1/dsr/{receipt['id']}/approve", f"/v1/dsr/{receipt['id']}/reject"
    rejection = {"reason": "other"}
    subject = api.tokens(customer.email, customer.password).headers
    officer_without_2fa = make_staff((Role.COMPLIANCE_OFFICER,), with_totp=False)
    admin_without_2fa = make_staff((Role.ADMIN,), with_totp=False)
    password_only = api.tokens(officer_without_2fa.email, officer_without_2fa.password).headers
    admin_password_only = api.tokens(admin_without_2fa.email, admin_without_2fa.password).headers

    for headers, code in [
        (subject, "forbidden"),
        (dsr_shop.headers, "forbidden"),
        (signed_in(api, admin), "forbidden"),  # approving is the officers', not the admins'
        (admin_password_only, "forbidden"),
        (password_only, "mfa_required"),
    ]:
        assert_problem(api.http.post(approve, headers=headers), 403, code)
        assert_problem(api.http.post(reject, json=rejection, headers=headers), 403, code)
    assert_problem(api.http.post(approve), 401, "unauthorized")
    assert view(api, receipt["id"], dsr_shop.headers)["status"] == "awaiting_approval"


# -- the officers' queue ---------------------------------------------------------------------------


def queue(api: Api, headers: dict[str, str], **params: object) -> list[str]:
    response = api.http.get("/v1/dsr", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    return [item["id"] for item in body["items"]]


def test_the_queue_filters_by_status_type_and_overdue(
    api: Api,
    dsr: DsrDriver,
    dsr_shop: Shop,
    make_customer: MakeCustomer,
    officer: Staff,
    clock: FrozenClock,
) -> None:
    def filed(request_type: str) -> str:
        receipt = file(api, dsr_shop.headers, type=request_type, subject_id=make_customer().id)
        return str(receipt["id"])

    answered = filed("access")
    dsr.close()  # no system to ask: it completes at once
    old_access, old_erasure = filed("access"), filed("erasure")
    clock.advance(timedelta(days=20))
    new_access, new_erasure = filed("access"), filed("erasure")
    clock.advance(timedelta(days=13))  # the first are past their month (a Sunday, so Monday); the later not

    headers = signed_in(api, officer)
    everything = queue(api, headers)
    assert set(everything) == {answered, old_access, old_erasure, new_access, new_erasure}
    assert queue(api, headers, status="completed") == [answered]
    assert set(queue(api, headers, status="awaiting_approval")) == {old_erasure, new_erasure}
    assert set(queue(api, headers, type="access")) == {answered, old_access, new_access}
    assert set(queue(api, headers, overdue="true")) == {old_access, old_erasure}
    assert queue(api, headers, overdue="true", type="erasure") == [old_erasure]
    assert queue(api, headers, status="rejected") == []
    items = api.http.get("/v1/dsr", params={"overdue": "true"}, headers=headers).json()["items"]
    assert all(item["overdue"] for item in items)
    assert_problem(
        api.http.get("/v1/dsr", params={"status": "lost"}, headers=headers), 422, "validation_error"
    )
    assert_problem(
        api.http.get("/v1/dsr", params={"type": "portability"}, headers=headers), 422, "validation_error"
    )


def test_the_queue_pages_by_cursor_without_repeating_or_losing_a_request(
    api: Api, dsr_shop: Shop, make_customer: MakeCustomer, officer: Staff, clock: FrozenClock
) -> None:
    filed = []
    for _ in range(5):
        filed.append(file(api, dsr_shop.headers, type="access", subject_id=make_customer().id)["id"])
        clock.advance(timedelta(hours=1))
    headers = signed_in(api, officer)

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = api.http.get("/v1/dsr", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == filed, "the most urgent (earliest due) first, each once"


@pytest.mark.parametrize(
    "params", [{"cursor": "not-a-cursor"}, {"cursor": "eyJ4IjoxfQ"}, {"limit": 0}, {"limit": 501}]
)
def test_a_bad_cursor_or_limit_is_a_validation_error(
    api: Api, officer: Staff, params: dict[str, object]
) -> None:
    response = api.http.get("/v1/dsr", params=params, headers=signed_in(api, officer))
    assert_problem(response, 422, "validation_error")


# -- downstream systems ----------------------------------------------------------------------------


def registration(name: object = "invoicing", **changes: object) -> dict[str, object]:
    return {
        "name": name,
        "url": "http://invoicing.shop.internal:8080/privacy/webhook",
        "secret": new_secret(),
        "request_types": ["access", "erasure"],
        "categories": ["invoices"],
        **changes,
    }


def test_an_admin_registers_lists_and_removes_a_system_whose_secret_is_never_shown(
    api: Api, admin: Staff
) -> None:
    headers = signed_in(api, admin)
    body = registration()
    secret = str(body["secret"])
    responses: list[httpx.Response] = []

    created = api.http.post("/v1/systems", json=body, headers=headers)
    responses.append(created)
    assert created.status_code == 201, created.text
    assert "secret" not in created.json()
    assert created.json()["source"] == "api"
    assert created.json()["request_types"] == ["access", "erasure"]

    listed = api.http.get("/v1/systems", headers=headers)
    responses.append(listed)
    assert listed.status_code == 200
    items = {item["name"]: item for item in listed.json()["items"]}
    assert set(items) == {"mailer", "invoicing"}
    assert items["mailer"]["source"] == "policies"
    assert items["mailer"]["request_types"] == ["notice"]
    assert items["invoicing"]["source"] == "api"
    assert items["invoicing"]["url"] == body["url"]
    assert all("secret" not in item for item in items.values())
    assert listed.json()["next_cursor"] is None

    responses.append(api.http.post("/v1/systems", json=registration(), headers=headers))
    assert_problem(responses[-1], 409, "system_exists")
    responses.append(api.http.post("/v1/systems", json=registration("mailer"), headers=headers))
    assert_problem(responses[-1], 409, "system_in_policies")
    responses.append(api.http.delete("/v1/systems/mailer", headers=headers))
    assert_problem(responses[-1], 409, "system_in_policies")

    removed = api.http.delete("/v1/systems/invoicing", headers=headers)
    responses.append(removed)
    assert removed.status_code == 204
    responses.append(api.http.delete("/v1/systems/invoicing", headers=headers))
    assert_problem(responses[-1], 404, "not_found")
    responses.append(api.http.get("/v1/systems", headers=headers))
    assert [item["name"] for item in responses[-1].json()["items"]] == ["mailer"]

    for response in responses:
        assert secret not in response.text
        assert secret.removeprefix("whsec_") not in response.text
        assert MAILER_SECRET.removeprefix("whsec_") not in response.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"secret": "a-plain-password-123"}, "secret"),
        ({"secret": "whsec_not*base64*at*all"}, "secret"),
        ({"secret": "whsec_c2hvcnQ="}, "secret"),
        ({"url": "ftp://files.shop.internal/privacy"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"name": "Has Spaces"}, "name"),
        ({"request_types": []}, "request_types"),
        ({"request_types": ["portability"]}, "request_types"),
    ],
)
def test_a_system_with_a_bad_secret_url_name_or_types_is_refused(
    api: Api, admin: Staff, changes: dict[str, object], field: str
) -> None:
    headers = signed_in(api, admin)
    payload = registration(**changes)
    response = api.http.post("/v1/systems", json=payload, headers=headers)
    assert field in str(assert_problem(response, 422, "validation_error"))
    assert str(payload["secret"]) not in response.text, "a refused secret is not echoed either"
    assert [item["name"] for item in api.http.get("/v1/systems", headers=headers).json()["items"]] == [
        "mailer"
    ]


def test_only_an_admin_signed_in_with_a_second_factor_manages_systems(
    api: Api, officer: Staff, make_staff: MakeStaff, customer: Customer, dsr_shop: Shop
) -> None:
    admin_without_2fa = make_staff((Role.ADMIN,), with_totp=False)
    password_only = api.tokens(admin_without_2fa.email, admin_without_2fa.password).headers
    officer_headers = signed_in(api, officer)
    customer_headers = api.tokens(customer.email, customer.password).headers

    for headers, code in [
        (officer_headers, "forbidden"),
        (customer_headers, "forbidden"),
        (dsr_shop.headers, "forbidden"),
        (password_only, "mfa_required"),
    ]:
        assert_problem(api.http.get("/v1/systems", headers=headers), 403, code)
        assert_problem(api.http.post("/v1/systems", json=registration(), headers=headers), 403, code)
        assert_problem(api.http.delete("/v1/systems/mailer", headers=headers), 403, code)


# -- exports ---------------------------------------------------------------------------------------


def test_an_export_expires_after_its_lifetime_and_the_purge_deletes_the_bundle(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    clock: FrozenClock,
    settings: Settings,
    workplace: Workplace,
) -> None:
    orders.answer_completed({"orders": [{"id": "o-9"}]})
    dsr.register(orders)
    receipt = file(api, api.tokens(customer.email, customer.password).headers, type="access")
    dsr.deliver()
    lifetime = timedelta(days=settings.dsr_export_days)

    clock.advance(lifetime - timedelta(minutes=1))
    me = api.tokens(customer.email, customer.password).headers
    assert view(api, receipt["id"], me)["export"] is not None
    assert api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=me).status_code == 200
    with workplace.open() as work:
        assert purge_expired_exports(work) == 0, "a live bundle is kept"

    clock.advance(timedelta(minutes=1))
    me = api.tokens(customer.email, customer.password).headers
    assert_problem(api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=me), 410, "export_expired")
    assert view(api, receipt["id"], me)["export"] is None

    with workplace.open() as work:
        assert purge_expired_exports(work) == 1
    with workplace.open() as work:
        export = work.session.get(DsrExport, receipt["id"])
        assert export is not None
        assert export.bundle is None
        assert purge_expired_exports(work) == 0
    assert_problem(api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=me), 410, "export_expired")


def test_an_erasure_request_or_an_unfinished_access_request_has_no_export(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, officer: Staff
) -> None:
    orders.answer_accepted()
    dsr.register(orders)
    me = api.tokens(customer.email, customer.password).headers
    erasure = file(api, me, type="erasure")
    access = file(api, me, type="access")
    dsr.deliver()
    assert view(api, access["id"], me)["status"] == "in_progress"

    headers = signed_in(api, officer)
    for request in (erasure, access):
        for who in (me, headers):
            assert_problem(
                api.http.get(f"/v1/dsr/{request['id']}/export", headers=who), 409, "export_not_ready"
            )
    assert_problem(api.http.get("/v1/dsr/no-such-request/export", headers=headers), 404, "not_found")


def test_the_shop_that_filed_an_access_request_sees_it_but_cannot_download_the_export(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, dsr_shop: Shop, officer: Staff
) -> None:
    orders.answer_completed({"orders": [{"id": "o-1"}]})
    dsr.register(orders)
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    dsr.deliver()

    assert view(api, receipt["id"], dsr_shop.headers)["status"] == "completed"
    assert_problem(
        api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=dsr_shop.headers), 404, "not_found"
    )
    me = api.tokens(customer.email, customer.password).headers
    own = file(api, me, type="access")  # filed through the shop the customer signs in with
    dsr.deliver()
    assert view(api, own["id"], api.shop.headers)["status"] == "completed"
    assert_problem(api.http.get(f"/v1/dsr/{own['id']}/export", headers=api.shop.headers), 404, "not_found")
    assert api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=me).status_code == 200
    officer_download = api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=signed_in(api, officer))
    assert officer_download.status_code == 200
    assert officer_download.headers["content-type"] == "application/zip"


def test_an_access_request_whose_subject_was_erased_meanwhile_ends_without_an_export(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    dsr_shop: Shop,
    officer: Staff,
    clock: FrozenClock,
) -> None:
    orders.answer_accepted()
    dsr.register(orders)
    access = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    dsr.deliver()
    assert len(orders.deliveries) == 1
    erasure = file(api, dsr_shop.headers, type="erasure", subject_id=customer.id)
    headers = signed_in(api, officer)
    assert api.http.post(f"/v1/dsr/{erasure['id']}/approve", headers=headers).status_code == 200
    dsr.deliver()  # one at a time: the test's connection takes one unit of work at once
    assert len(orders.deliveries) == 2
    deliveries = {delivery.task_id: delivery for delivery in orders.deliveries}

    def callback(request: dict[str, Any], data: dict[str, Any]) -> httpx.Response:
        task = task_of(view(api, request["id"], headers), "orders")
        signed = orders.signed_callback(deliveries[task["id"]], data=data, timestamp=clock.now())
        path = signed.url.replace("http://127.0.0.1:8000", "")
        response: httpx.Response = api.http.post(path, content=signed.body, headers=signed.headers)
        return response

    assert callback(erasure, {}).status_code == 200
    assert view(api, erasure["id"], headers)["status"] == "completed"
    late = callback(access, {"orders": [{"id": "o-late"}]})

    assert late.status_code == 200, late.text
    ended = view(api, access["id"], headers)
    assert ended["status"] == "completed"
    assert ended["export"] is None
    assert_problem(api.http.get(f"/v1/dsr/{access['id']}/export", headers=headers), 409, "export_not_ready")


def test_no_system_may_be_registered_under_the_services_own_name(api: Api, admin: Staff) -> None:
    """An export names the service's own data data/privacy-service.json; a system of that name would
    collide with it."""
    headers = signed_in(api, admin)
    refused = api.http.post("/v1/systems", json=registration("privacy-service"), headers=headers)
    assert_problem(refused, 422, "validation_error")
    assert "privacy-service" not in [
        item["name"] for item in api.http.get("/v1/systems", headers=headers).json()["items"]
    ]
