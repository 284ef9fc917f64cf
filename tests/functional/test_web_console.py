"""The staff console through HTTP: who may sign in, the queue, a decision, the trail and its verification."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.models import AuditEvent
from privacy_service.dsr.models import DsrRequest
from privacy_service.identity.scopes import Role
from privacy_service.work import Workplace
from tests.functional.conftest import CUSTOMER_PASSWORD, Api, Customer, MakeStaff, Staff, unique_email
from tests.functional.test_audit_api import seal
from tests.functional.web_support import Browser, hidden_fields, text_of
from tests.unit.audit.tampering import drop_guards, set_columns


@pytest.fixture
def console(client: TestClient) -> Browser:
    return Browser(client, root="/console")


def file_access(client: TestClient, customer: Customer) -> str:
    """A customer files an access request in the privacy center; its id."""
    privacy = Browser(client)
    privacy.sign_in(customer.email, customer.password)
    filed = privacy.post("/requests", {"type": "access"}, from_page="/requests/new/access")
    assert filed.status_code == 303
    return filed.headers["location"].rsplit("/", 1)[1]


def test_an_officer_signs_in_with_their_second_factor(console: Browser, api: Api, officer: Staff) -> None:
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    assert console.get("/").headers["location"] == "/console/requests"
    queue = console.get("/requests")
    assert queue.status_code == 200
    assert "Requests" in text_of(queue)


def test_a_customer_cannot_enter_the_console_even_with_the_right_password(
    console: Browser, customer: Customer, session: Session
) -> None:
    answer = console.sign_in(customer.email, customer.password)
    assert answer.status_code == 403
    assert "This console is for staff" in text_of(answer)
    assert console.get("/requests").status_code == 303


def test_a_privacy_center_session_is_no_console_session(
    client: TestClient, console: Browser, api: Api, officer: Staff
) -> None:
    privacy = Browser(client)
    privacy.sign_in_fully(api, officer.email, officer.password, officer.totp)
    console.http.cookies.set("ps_console", privacy.cookie("ps_privacy") or "")
    assert console.get("/requests").status_code == 303


def test_an_admin_may_not_read_the_queue_or_the_trail(
    console: Browser, api: Api, make_staff: MakeStaff
) -> None:
    admin = make_staff((Role.ADMIN,))
    console.sign_in_fully(api, admin.email, admin.password, admin.totp)
    assert console.get("/").status_code == 200
    assert console.get("/requests").status_code == 403
    assert console.get("/audit").status_code == 403


def test_an_officer_rejects_a_request_with_a_reason_and_the_trail_shows_it(
    client: TestClient, console: Browser, api: Api, officer: Staff, customer: Customer, session: Session
) -> None:
    request_id = file_access(client, customer)
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    assert request_id in console.get("/requests").text
    page = f"/requests/{request_id}"
    refused = console.post(f"{page}/reject", {"reason": "excessive", "detail": "Third request this week."})
    assert refused.status_code == 403  # no CSRF token: nothing changed
    assert session.get(DsrRequest, request_id).status != "rejected"  # type: ignore[union-attr]
    rejected = console.post(
        f"{page}/reject", {"reason": "excessive", "detail": "Third request this week."}, from_page=page
    )
    assert rejected.status_code == 303
    shown = text_of(console.get(page))
    assert "Rejected" in shown
    assert "Third request this week." in shown
    trail = console.get("/audit?action=dsr_reject")
    assert trail.status_code == 200
    assert f"dsr:{request_id}" in text_of(trail)
    assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "audit_read")).first()


def test_the_queue_pages_by_cursor_and_filters(
    client: TestClient, console: Browser, api: Api, officer: Staff, make_customer: object
) -> None:
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    assert console.get("/requests?status=rejected&type=erasure&overdue=true").status_code == 200
    assert console.get("/requests?status=&type=").status_code == 200  # the form's "any"
    assert console.get("/audit?action=&actor=&target=&outcome=&since=&until=").status_code == 200
    assert console.get("/audit?outcome=maybe").status_code == 400
    assert console.get("/requests?cursor=not-a-cursor").status_code == 400
    assert console.get("/requests?status=nonsense").status_code == 400


def test_verify_locates_a_tampered_event(
    console: Browser,
    api: Api,
    officer: Staff,
    customer: Customer,
    sessions: sessionmaker[Session],
    workplace: Workplace,
) -> None:
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    Browser(console.http).sign_in(customer.email, "not-the-password")  # a failed login to tamper with
    seal(workplace)
    intact = console.post("/audit/verify", {}, from_page="/audit")
    assert intact.status_code == 200
    assert "The chain is intact" in text_of(intact)
    with sessions.begin() as session:
        drop_guards(session)
        seq = session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "authn_login_fail"))
        assert seq is not None
        set_columns(session, seq, outcome="success")
    broken = text_of(console.post("/audit/verify", {}, from_page="/audit"))
    assert f"The chain is broken at event {seq}: an event was altered after it was sealed." in broken


def test_console_pages_refuse_a_form_from_elsewhere(console: Browser, api: Api, officer: Staff) -> None:
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    foreign = Browser(console.http, root="/console")  # another browser's token
    token = hidden_fields(foreign.get("/sign-in"))["csrf_token"]
    assert console.post("/audit/verify", {"csrf_token": token}).status_code == 403


def test_the_trail_exports_as_csv_with_the_filters_of_the_page(
    console: Browser, api: Api, officer: Staff
) -> None:
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    exported = console.get("/audit/export?action=authn_login_success&actor=&outcome=")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    header, *rows = exported.text.splitlines()
    assert header.startswith("id,seq,at")
    assert rows
    assert all(",authn_login_success," in row for row in rows)


def test_the_german_console_names_a_request_as_officers_do(
    client: TestClient, api: Api, officer: Staff, customer: Customer
) -> None:
    """An officer's request is an *Antrag*; the customer's own, in the privacy center, an *Anfrage*."""
    file_access(client, customer)
    console = Browser(client, root="/console", headers={"Accept-Language": "de"})
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    queue = text_of(console.get("/requests"))
    assert "Anträge" in queue
    assert "Antrag Art Status" in queue  # the table's header row
    privacy = Browser(client, headers={"Accept-Language": "de"})
    privacy.sign_in(customer.email, customer.password)
    assert "Anfrage Status" in text_of(privacy.get("/"))


def test_an_officer_extends_a_request_from_its_page_and_the_customer_reads_why(
    client: TestClient, console: Browser, api: Api, officer: Staff, customer: Customer
) -> None:
    request_id = file_access(client, customer)
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    page = f"/requests/{request_id}"
    before = text_of(console.get(page))
    assert "Extend the deadline" in before
    assert "allows one extension of 2 months" in before, "the law's own extension, from the policies"

    blank = console.post(f"{page}/extend", {"reason": "  "}, from_page=page)
    assert blank.status_code == 422
    assert "Check these fields: Reason." in text_of(blank)
    reason = "Your orders are archived off-site; fetching them takes a few weeks."
    extended = console.post(f"{page}/extend", {"reason": reason}, from_page=page)
    assert extended.status_code == 303
    after = text_of(console.get(page))
    assert reason in after
    assert "(extended)" in after
    assert "Extend the deadline" not in after, "one extension only: the form is gone"
    assert "Deadline extended" in after, "the notice to the person is listed"

    privacy = Browser(client)
    privacy.sign_in(customer.email, customer.password)
    shown = text_of(privacy.get(f"/requests/{request_id}"))
    assert "Why we need more time" in shown
    assert reason in shown
    assert "We need more time to answer your privacy request" in shown, "the notice, as it was written"
    assert "We have received your privacy request" in shown


def test_the_console_offers_no_extension_where_the_law_has_none(
    client: TestClient, console: Browser, api: Api, officer: Staff
) -> None:
    email = unique_email()
    registered = api.register(email=email, country="BR")
    assert registered.status_code == 201, registered.text
    request_id = file_access(
        client, Customer(id=registered.json()["id"], email=email, password=CUSTOMER_PASSWORD)
    )
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    page = f"/requests/{request_id}"
    assert "Extend the deadline" not in text_of(console.get(page))
    refused = console.post(f"{page}/extend", {"reason": "busy"}, from_page=page)
    assert refused.status_code == 409
    assert "The deadline cannot be extended" in text_of(refused)
    unexplained = console.post(f"{page}/reject", {"reason": "other", "detail": " "}, from_page=page)
    assert unexplained.status_code == 422
    assert "Say in the explanation what the other reason is" in text_of(unexplained)
