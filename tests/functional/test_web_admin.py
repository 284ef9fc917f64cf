"""The console's admin pages through HTTP: shop clients, staff accounts, downstream systems.

Every action that changes access takes a fresh second-factor code in its form;
each is the operator command's service call, recorded with the admin as actor.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_service.audit.models import AuditEvent
from privacy_service.dsr.models import DownstreamSystem
from privacy_service.identity.models import Client, User
from privacy_service.identity.scopes import Role
from tests.functional.conftest import Api, Customer, MakeStaff, Staff
from tests.functional.dsr_support import DsrDriver
from tests.functional.test_web_console import file_access
from tests.functional.web_support import Browser, hidden_fields, text_of
from tests.support.downstream import FakeDownstream, new_secret

NEW_STAFF_PASSWORD = "a long staff passphrase 4 tests"


@pytest.fixture
def admin(make_staff: MakeStaff) -> Staff:
    return make_staff((Role.ADMIN,))


@pytest.fixture
def console(client: TestClient, api: Api, admin: Staff) -> Browser:
    """An admin's browser, signed in to the console."""
    browser = Browser(client, root="/console")
    browser.sign_in_fully(api, admin.email, admin.password, admin.totp)
    return browser


def act(console: Browser, api: Api, admin: Staff, path: str, fields: dict[str, str], *, page: str) -> str:
    """Post an admin form from ``page`` with a fresh code; the visible text of its 200 or 303 answer."""
    assert admin.totp is not None
    answer = console.post(path, {**fields, "code": api.fresh_code(admin.totp)}, from_page=page)
    assert answer.status_code in (200, 303), text_of(answer)
    return text_of(answer)


def actor_of(session: Session, action: str) -> str:
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.at.desc())
    ).first()
    assert event is not None, f"no {action} event"
    return f"{event.actor_type}:{event.actor_id}"


# -- shop clients -------------------------------------------------------------------------------------


def test_an_admin_registers_a_client_whose_secret_is_shown_once_and_works(
    client: TestClient, console: Browser, api: Api, admin: Staff, session: Session
) -> None:
    shown = act(
        console, api, admin, "/clients", {"name": "Web shop", "scopes": "auth:login"}, page="/clients"
    )
    client_id = re.search(r"Client id (\S+)", shown)[1]  # type: ignore[index]
    secret = re.search(r"Client secret (\S+)", shown)[1]  # type: ignore[index]
    token = client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert token.status_code == 200
    assert token.json()["scope"] == "auth:login"
    assert secret not in console.get(f"/clients/{client_id}").text  # shown once, never again
    assert secret not in console.get("/clients").text
    assert actor_of(session, "client_create") == f"user:{admin.id}"


def test_a_client_form_without_a_fresh_code_changes_nothing(
    console: Browser, api: Api, admin: Staff, session: Session
) -> None:
    before = session.scalar(select(Client.id).where(Client.name == "No code").limit(1))
    missing = console.post("/clients", {"name": "No code", "scopes": "auth:login"}, from_page="/clients")
    assert missing.status_code == 401
    assert "That code is not right" in text_of(missing)
    assert admin.totp is not None
    wrong = console.post(
        "/clients",
        {"name": "No code", "scopes": "auth:login", "code": api.wrong_code(admin.totp)},
        from_page="/clients",
    )
    assert wrong.status_code == 401
    session.expire_all()
    assert session.scalar(select(Client.id).where(Client.name == "No code").limit(1)) == before is None


def test_a_code_is_taken_once_even_between_two_forms(
    console: Browser, api: Api, admin: Staff, session: Session
) -> None:
    assert admin.totp is not None
    code = api.fresh_code(admin.totp)
    first = console.post(
        "/clients", {"name": "First", "scopes": "dsr:write", "code": code}, from_page="/clients"
    )
    assert first.status_code == 200
    replayed = console.post(
        "/clients", {"name": "Second", "scopes": "dsr:write", "code": code}, from_page="/clients"
    )
    assert replayed.status_code == 401
    assert session.scalar(select(Client.id).where(Client.name == "Second")) is None


def test_a_client_form_names_what_is_missing(console: Browser, api: Api, admin: Staff) -> None:
    assert admin.totp is not None
    refused = console.post(
        "/clients", {"name": " ", "code": api.fresh_code(admin.totp)}, from_page="/clients"
    )
    assert refused.status_code == 422
    assert "Check these fields: Name, Permissions." in text_of(refused)
    unknown = console.post("/clients", {"name": "Shop", "scopes": "root:everything"}, from_page="/clients")
    assert unknown.status_code == 422


def test_an_admin_rotates_a_secret_and_disables_a_client(
    client: TestClient, console: Browser, api: Api, admin: Staff, session: Session
) -> None:
    shown = act(console, api, admin, "/clients", {"name": "Backend", "scopes": "dsr:write"}, page="/clients")
    client_id = re.search(r"Client id (\S+)", shown)[1]  # type: ignore[index]
    old = re.search(r"Client secret (\S+)", shown)[1]  # type: ignore[index]
    page = f"/clients/{client_id}"
    rotated = act(console, api, admin, f"{page}/rotate", {}, page=page)
    new = re.search(r"Client secret (\S+)", rotated)[1]  # type: ignore[index]

    def token(secret: str) -> int:
        grant = {"grant_type": "client_credentials"}
        return client.post("/oauth/token", data=grant, auth=(client_id, secret)).status_code

    assert (token(old), token(new)) == (401, 200)
    act(console, api, admin, f"{page}/disable", {}, page=page)
    assert token(new) == 401
    shown_page = text_of(console.get(page))
    assert "Disabled on" in shown_page
    assert "Rotate the secret" not in shown_page  # nothing left to do to a disabled client
    assert admin.totp is not None
    again = console.post(f"{page}/rotate", {"code": api.fresh_code(admin.totp)}, from_page="/clients")
    assert again.status_code == 409
    assert actor_of(session, "client_secret_rotate") == f"user:{admin.id}"
    assert actor_of(session, "client_disable") == f"user:{admin.id}"


def test_the_pages_own_client_is_no_shop_client(console: Browser) -> None:
    assert "privacy-service-web" not in console.get("/clients").text
    assert console.get("/clients/privacy-service-web").status_code == 404


# -- staff accounts -----------------------------------------------------------------------------------


def _enrolled_key(page_text: str) -> pyotp.TOTP:
    key = re.search(r"Key: ((?:[A-Z2-7]{4} ?)+)", page_text)[1]  # type: ignore[index]
    return pyotp.TOTP(key.replace(" ", ""))


def test_an_admin_creates_an_officer_who_signs_in_with_the_key_shown(
    client: TestClient, console: Browser, api: Api, admin: Staff, session: Session
) -> None:
    email = "new.officer@example.test"
    shown = act(
        console,
        api,
        admin,
        "/staff",
        {"email": email, "password": NEW_STAFF_PASSWORD, "roles": "compliance_officer"},
        page="/staff",
    )
    assert "The account is created." in shown
    totp = _enrolled_key(shown)
    officer = Browser(client, root="/console")
    officer.sign_in_fully(api, email, NEW_STAFF_PASSWORD, totp)
    assert officer.get("/requests").status_code == 200
    assert email in text_of(console.get("/staff"))
    assert actor_of(session, "user_create") == f"user:{admin.id}"
    assert actor_of(session, "mfa_enable") == f"user:{admin.id}"


def test_a_staff_account_needs_a_role_and_a_staff_password(console: Browser, api: Api, admin: Staff) -> None:
    assert admin.totp is not None
    no_role = console.post(
        "/staff",
        {"email": "x@example.test", "password": NEW_STAFF_PASSWORD, "code": api.fresh_code(admin.totp)},
        from_page="/staff",
    )
    assert no_role.status_code == 422
    assert "Check these fields: Roles." in text_of(no_role)
    short = console.post(
        "/staff",
        {
            "email": "x@example.test",
            "password": "short",
            "roles": "admin",
            "code": api.fresh_code(admin.totp),
        },
        from_page="/staff",
    )
    assert short.status_code == 422
    assert "too short" in text_of(short)
    assert 'value="x@example.test"' in short.text  # the form comes back filled in, but for the password
    assert 'value="admin" checked' in short.text
    assert "short" not in re.sub(r"too short", "", short.text)
    bad_email = console.post(
        "/staff",
        {
            "email": "no-at-sign",
            "password": NEW_STAFF_PASSWORD,
            "roles": "admin",
            "code": api.fresh_code(admin.totp),
        },
        from_page="/staff",
    )
    assert bad_email.status_code == 422
    assert "Check these fields: Email." in text_of(bad_email)


def test_resetting_a_second_factor_ends_the_members_sessions_and_their_old_key(
    client: TestClient, console: Browser, api: Api, admin: Staff, officer: Staff
) -> None:
    theirs = Browser(client, root="/console")
    theirs.sign_in_fully(api, officer.email, officer.password, officer.totp)
    page = f"/staff/{officer.id}"
    shown = act(console, api, admin, f"{page}/reset-mfa", {}, page=page)
    assert "The second factor is reset" in shown
    assert theirs.get("/requests").status_code == 303  # signed out, on the server
    assert officer.totp is not None
    old = theirs.sign_in(officer.email, officer.password)
    wrong = theirs.http.post(
        "/console/sign-in/code", data={**hidden_fields(old), "code": api.fresh_code(officer.totp)}
    )
    assert wrong.status_code == 401
    theirs.sign_in_fully(api, officer.email, officer.password, _enrolled_key(shown))


def test_disabling_an_account_ends_its_sessions_and_its_signing_in(
    client: TestClient, console: Browser, api: Api, admin: Staff, officer: Staff, session: Session
) -> None:
    theirs = Browser(client, root="/console")
    theirs.sign_in_fully(api, officer.email, officer.password, officer.totp)
    page = f"/staff/{officer.id}"
    act(console, api, admin, f"{page}/disable", {}, page=page)
    assert theirs.get("/requests").status_code == 303
    assert theirs.sign_in(officer.email, officer.password).status_code == 401
    assert session.get(User, officer.id).disabled_at is not None  # type: ignore[union-attr]
    assert "Disabled on" in text_of(console.get(page))
    assert actor_of(session, "user_disable") == f"user:{admin.id}"


def test_an_admin_does_not_change_their_own_account_here(
    console: Browser, api: Api, admin: Staff, session: Session
) -> None:
    page = f"/staff/{admin.id}"
    shown = text_of(console.get(page))
    assert "This is your own account" in shown
    assert "Disable the account" not in shown
    assert admin.totp is not None
    refused = console.post(f"{page}/disable", {"code": api.fresh_code(admin.totp)}, from_page=page)
    assert refused.status_code == 403
    assert console.get("/staff").status_code == 200  # still signed in
    assert session.get(User, admin.id).disabled_at is None  # type: ignore[union-attr]


def test_customers_are_not_staff_accounts(console: Browser, customer: Customer) -> None:
    assert console.get(f"/staff/{customer.id}").status_code == 404
    assert customer.email not in console.get("/staff").text


# -- who may open what --------------------------------------------------------------------------------


def test_an_officer_sees_the_systems_but_manages_nothing(
    client: TestClient, api: Api, officer: Staff, session: Session
) -> None:
    browser = Browser(client, root="/console")
    browser.sign_in_fully(api, officer.email, officer.password, officer.totp)
    assert browser.get("/clients").status_code == 403
    assert browser.get("/staff").status_code == 403
    systems = browser.get("/systems")
    assert systems.status_code == 200
    assert "Register a system" not in text_of(systems)
    assert officer.totp is not None
    refused = browser.post(
        "/systems",
        {
            "name": "sneaky",
            "url": "https://sneaky.example",
            "secret": new_secret(),
            "request_types": "access",
            "code": api.fresh_code(officer.totp),
        },
        from_page="/systems",
    )
    assert refused.status_code == 403
    assert session.get(DownstreamSystem, "sneaky") is None


def test_an_admin_home_lists_their_pages(console: Browser) -> None:
    home = console.get("/")
    assert home.status_code == 200
    for page in ("/console/clients", "/console/staff", "/console/systems"):
        assert f'href="{page}"' in home.text


# -- downstream systems -------------------------------------------------------------------------------


def test_an_admin_registers_and_removes_a_system(
    console: Browser, api: Api, admin: Staff, session: Session
) -> None:
    fields = {
        "name": "crm",
        "url": "https://crm.example/privacy",
        "secret": new_secret(),
        "request_types": "erasure",
        "categories": "contacts\nnewsletter",
        "timeout_seconds": "",
    }
    act(console, api, admin, "/systems", fields, page="/systems")
    registered = session.get(DownstreamSystem, "crm")
    assert registered is not None
    assert fields["secret"].encode() not in registered.secret  # encrypted at rest
    page = console.get("/systems")
    assert "contacts, newsletter" in text_of(page)
    assert fields["secret"] not in page.text
    assert actor_of(session, "system_create") == f"user:{admin.id}"
    act(console, api, admin, "/systems/crm/remove", {}, page="/systems")
    session.expire_all()
    assert session.get(DownstreamSystem, "crm") is None
    assert actor_of(session, "system_delete") == f"user:{admin.id}"


def test_a_system_form_is_checked_as_the_api_checks_it(
    console: Browser, api: Api, admin: Staff, session: Session
) -> None:
    assert admin.totp is not None
    bad = {
        "name": "Not A Name",
        "url": "ftp://x",
        "secret": "whsec_short",
        "code": api.fresh_code(admin.totp),
    }
    refused = console.post("/systems", bad, from_page="/systems")
    assert refused.status_code == 422
    assert "Check these fields: Name, Address, Takes." in text_of(refused)
    weak = {
        "name": "weak",
        "url": "https://weak.example",
        "secret": "not-a-webhook-secret",
        "request_types": "access",
        "code": api.fresh_code(admin.totp),
    }
    refused = console.post("/systems", weak, from_page="/systems")
    assert refused.status_code == 422
    assert "Standard Webhooks secret" in text_of(refused)
    assert session.get(DownstreamSystem, "weak") is None
    missing = console.post(
        "/systems/nothing-here/remove", {"code": api.fresh_code(admin.totp)}, from_page="/systems"
    )
    assert missing.status_code == 404


def test_the_systems_page_shows_recent_deliveries_and_failures(
    client: TestClient,
    api: Api,
    officer: Staff,
    customer: Customer,
    dsr: DsrDriver,
    orders: FakeDownstream,
) -> None:
    dsr.register(orders)
    orders.fail_first(5)
    request_id = file_access(client, customer)
    dsr.deliver()
    browser = Browser(client, root="/console")
    browser.sign_in_fully(api, officer.email, officer.password, officer.totp)
    page = browser.get("/systems")
    shown = text_of(page)
    assert "1 failing, being retried" in shown
    assert "Retry scheduled" in shown
    assert f'href="/console/requests/{request_id}"' in page.text
    assert "503" in shown  # the last error, as the delivery saw it
