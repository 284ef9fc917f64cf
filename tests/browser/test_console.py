"""An officer in Chromium: signs in with TOTP, rejects a request with a reason, verifies the trail, and
finds the event an attacker with database access altered. And what the console refuses: a form posted
without its CSRF token, and a session kept after signing out."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from privacy_service.audit.models import AuditEvent
from tests.browser.test_privacy_center import CUSTOMER_PASSWORD, look
from tests.e2e.conftest import LiveServer, run_cli, service_environment
from tests.e2e.test_dsr_server import (
    cli_json,
    client_headers,
)
from tests.unit.audit.tampering import drop_guards, set_columns

pytestmark = pytest.mark.e2e

POLICIES = Path(__file__).resolve().parents[2] / "policies"
OFFICER_EMAIL = "officer@shop.example"
OFFICER_PASSWORD = "quiet harbour lantern 2026"


@pytest.fixture
def operator(tmp_path: Path, server_database: str) -> dict[str, str]:
    """The service with the shipped policies, but access requests under the GDPR wait for an officer."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    jurisdictions = policies / "jurisdictions.yaml"
    jurisdictions.write_text(jurisdictions.read_text().replace("approval: []", "approval: [access]", 1))
    env = service_environment(
        tmp_path / "data",
        server_database,
        PRIVACY_SHOP_NAME="Lumen Shop",
        PRIVACY_AUDIT_CHECKPOINT_SECONDS="1",
        PRIVACY_POLICIES_DIR=str(policies),
    )
    assert run_cli("migrate", env=env).returncode == 0
    return env


def sign_in(page: Any, totp: pyotp.TOTP) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("Email").fill(OFFICER_EMAIL)
    page.get_by_label("Password").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Requests").wait_for()


def wait_until_sealed(engine: Engine) -> int:
    """The seq of the first failed login, once the worker has sealed it into the chain."""
    deadline = time.monotonic() + 60
    with Session(engine) as session:
        while True:
            seq = session.scalar(
                select(func.min(AuditEvent.seq)).where(AuditEvent.action == "authn_login_fail")
            )
            if seq is not None:
                return int(seq)
            assert time.monotonic() < deadline, "the worker did not seal the trail"
            time.sleep(0.2)
            session.rollback()


def test_an_officer_rejects_verifies_and_finds_the_altered_event(
    chromium: Any, operator: dict[str, str], server: LiveServer, screenshots: Path, service_engine: Engine
) -> None:
    officer = cli_json(operator, "admin", "create", "--email", OFFICER_EMAIL, "--role", "compliance_officer",
                       "--password-stdin", stdin=OFFICER_PASSWORD + "\n")  # fmt: skip
    totp = pyotp.TOTP(parse_qs(urlparse(officer["otpauth_uri"]).query)["secret"][0])
    shop = client_headers(server, cli_json(operator, "clients", "create", "--name", "shop", "--scopes",
                                           "auth:login users:write dsr:write"))  # fmt: skip
    created = httpx.post(
        server.url + "/v1/users",
        json={"email": "grace@example.com", "password": CUSTOMER_PASSWORD, "country": "FR"},
        headers=shop,
    )
    subject_id = created.json()["id"]
    filed = httpx.post(
        server.url + "/v1/dsr", json={"type": "access", "subject_id": subject_id}, headers=shop
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    wrong = httpx.post(
        server.url + "/v1/auth/login", json={"email": "grace@example.com", "password": "wrong"}, headers=shop
    )
    assert wrong.status_code == 401

    context = chromium.new_context(base_url=server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, totp)
    look(page, screenshots, "console-requests")

    page.get_by_role("link", name=request_id).click()
    assert "Awaiting review" in page.inner_text("main")
    page.get_by_label("Reason", exact=True).select_option("manifestly_unfounded")
    page.get_by_label("Explanation for the person").fill("The same request was answered last week.")
    look(page, screenshots, "console-request")
    page.get_by_role("button", name="Reject the request").click()
    assert "The same request was answered last week." in page.inner_text("main")
    assert "Rejected" in page.inner_text("main")

    page.get_by_role("link", name="Audit trail").click()
    page.get_by_label("Action").fill("dsr_reject")
    page.get_by_role("button", name="Filter").click()
    assert f"dsr:{request_id}" in page.inner_text("main")
    look(page, screenshots, "console-audit")

    seq = wait_until_sealed(service_engine)
    page.get_by_role("button", name="Verify the whole chain").click()
    assert "The chain is intact" in page.inner_text("main")

    with Session(service_engine) as session, session.begin():
        drop_guards(session)
        set_columns(session, seq, outcome="success")  # an attacker hides the failed login
    page.goto("/console/audit")
    page.get_by_role("button", name="Verify the whole chain").click()
    assert (
        f"The chain is broken at event {seq}: an event was altered after it was sealed."
        in page.inner_text("main")
    )
    look(page, screenshots, "console-verify")

    page.goto("/console/requests?lang=de")  # the console in German
    page.get_by_role("heading", name="Anträge").wait_for()
    look(page, screenshots, "console-requests-de")
    page.goto("/console/requests?lang=en")

    # A form posted from elsewhere, without the page's CSRF token, is refused and changes nothing.
    forged = page.request.post(server.url + "/console/audit/verify", form={"csrf_token": "forged"})
    assert forged.status == 403

    # A stale session: the cookie kept from before signing out opens nothing any more.
    kept = context.cookies()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to the staff console").wait_for()
    context.add_cookies(kept)
    page.goto("/console/requests")
    assert page.url.endswith("/console/sign-in")
    context.close()


def test_an_officer_extends_a_request_the_customer_reads_why_and_the_year_is_counted(
    chromium: Any, operator: dict[str, str], server: LiveServer, screenshots: Path
) -> None:
    officer = cli_json(operator, "admin", "create", "--email", OFFICER_EMAIL, "--role", "compliance_officer",
                       "--password-stdin", stdin=OFFICER_PASSWORD + "\n")  # fmt: skip
    totp = pyotp.TOTP(parse_qs(urlparse(officer["otpauth_uri"]).query)["secret"][0])
    shop = client_headers(server, cli_json(operator, "clients", "create", "--name", "shop", "--scopes",
                                           "auth:login users:write dsr:write"))  # fmt: skip
    created = httpx.post(
        server.url + "/v1/users",
        json={"email": "ines@example.com", "password": CUSTOMER_PASSWORD, "country": "DE",
              "profile": {"given_name": "Inès", "locale": "de-DE"}},
        headers=shop,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    filed = httpx.post(
        server.url + "/v1/dsr", json={"type": "access", "subject_id": created.json()["id"]}, headers=shop
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    reason = "Your orders are archived off-site; gathering them takes a few weeks."

    context = chromium.new_context(base_url=server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, totp)
    page.get_by_role("link", name=request_id).click()
    page.get_by_label("Reason, told to the person").fill(reason)
    look(page, screenshots, "console-request-extend")
    page.get_by_role("button", name="Extend the deadline").click()
    main = page.inner_text("main")
    assert reason in main
    assert "Deadline extended" in main, "the notice to the person is listed"
    assert page.get_by_role("button", name="Extend the deadline").count() == 0, "once only"

    page.get_by_role("link", name="Yearly figures").click()
    page.get_by_role("heading", name=re.compile("Requests received in")).wait_for()
    assert "EU/EEA" in page.inner_text("main")
    look(page, screenshots, "console-stats")
    page.goto("/console/stats?lang=de")
    look(page, screenshots, "console-stats-de")
    context.close()

    customer = chromium.new_context(base_url=server.url, locale="de-DE")
    page = customer.new_page()
    page.goto("/privacy/sign-in?lang=en")
    page.get_by_label("Email").fill("ines@example.com")
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My data and requests").wait_for()
    page.goto(f"/privacy/requests/{request_id}")
    main = page.inner_text("main")
    assert "Why we need more time" in main
    assert reason in main
    page.get_by_text("We need more time to answer your privacy request").click()  # opens the notice
    assert page.get_by_text("we are extending the deadline to").is_visible()
    look(page, screenshots, "privacy-request-notices")
    page.goto(f"/privacy/requests/{request_id}?lang=de")
    page.get_by_text("Wir benötigen mehr Zeit").first.click()
    assert "Warum wir mehr Zeit brauchen" in page.inner_text("main")
    look(page, screenshots, "privacy-request-notices-de")
    customer.close()
