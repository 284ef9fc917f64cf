"""An admin in Chromium: registers a shop client whose secret then works, creates a compliance officer who
signs in with the key shown once, resets that officer's second factor (their open page falls back to
sign-in), and registers a downstream system whose deliveries fail, in English and in German. Each form
asks for a fresh second factor: a wrong code is refused and changes nothing.

Every TOTP code works once per 30-second step, so the admin signs in with the current code and answers
each form with one of their recovery codes, each good once, instead of waiting for the next step.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest

from tests.browser.test_privacy_center import CUSTOMER_PASSWORD, look, shown_key
from tests.e2e.conftest import LiveServer, run_cli, service_environment
from tests.e2e.test_dsr_server import cli_json, client_headers
from tests.support.downstream import FakeDownstream

pytestmark = pytest.mark.e2e

ADMIN_EMAIL = "admin@shop.example"
ADMIN_PASSWORD = "copper meadow signal 2026"
OFFICER_EMAIL = "officer@shop.example"
OFFICER_PASSWORD = "quiet harbour lantern 2026"
CODE = "Code from your authenticator app"


@pytest.fixture
def operator(tmp_path: Path, server_database: str) -> dict[str, str]:
    env = service_environment(tmp_path / "data", server_database, PRIVACY_SHOP_NAME="Lumen Shop")
    assert run_cli("migrate", env=env).returncode == 0
    return env


class Admin:
    """The admin made at the command line: their authenticator, and recovery codes handed out one by one."""

    def __init__(self, operator: dict[str, str]) -> None:
        made = cli_json(operator, "admin", "create", "--email", ADMIN_EMAIL, "--password-stdin",
                        stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
        self.totp = pyotp.TOTP(parse_qs(urlparse(made["otpauth_uri"]).query)["secret"][0])
        self._recovery_codes: Iterator[str] = iter(made["recovery_codes"])

    def fresh_code(self) -> str:
        """A code not used yet: the next recovery code."""
        return next(self._recovery_codes)


@pytest.fixture
def admin(operator: dict[str, str]) -> Admin:
    return Admin(operator)


def sign_in(page: Any, *, email: str, password: str, code: str) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Continue").click()


def form_of(page: Any, button: str) -> Any:
    """The form whose submit button is named ``button`` (a page may hold several code fields)."""
    return page.locator("form", has=page.get_by_role("button", name=button, exact=True))


def submit(page: Any, button: str, code: str) -> None:
    form = form_of(page, button)
    form.get_by_label(CODE).fill(code)
    form.get_by_role("button", name=button, exact=True).click()


def token_status(server: LiveServer, client_id: str, secret: str) -> int:
    answer = httpx.post(
        server.url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    return answer.status_code


def test_an_admin_registers_a_client_whose_secret_works_then_rotates_and_disables_it(
    chromium: Any, server: LiveServer, admin: Admin, screenshots: Path
) -> None:
    context = chromium.new_context(base_url=server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, code=admin.totp.now())
    page.get_by_role("heading", name="Staff console").wait_for()
    assert page.get_by_role("link", name="Staff accounts").count() == 2  # in the menu and as a card
    look(page, screenshots, "console-home")

    page.get_by_role("navigation", name="Staff console").get_by_role("link", name="Shop clients").click()
    page.get_by_role("heading", name="Shop clients", exact=True).wait_for()
    page.get_by_label("Name").fill("Lumen storefront")
    page.get_by_label("users:write").check()
    page.get_by_label("dsr:write").check()

    # A wrong code: the form says why, and no client is registered.
    submit(page, "Register", "000000")
    assert "That code is not right" in page.get_by_role("alert").inner_text()
    assert "No shop client is registered yet." in page.inner_text("main")

    page.get_by_label("Name").fill("Lumen storefront")
    page.get_by_label("users:write").check()
    page.get_by_label("dsr:write").check()
    submit(page, "Register", admin.fresh_code())
    page.get_by_role("heading", name="The client's secret").wait_for()
    client_id = page.locator("dd code").nth(0).inner_text()
    secret = page.locator("code.secret").inner_text()
    look(page, screenshots, "console-client-secret")
    assert token_status(server, client_id, secret) == 200

    page.get_by_role("link", name="Done", exact=True).click()
    page.get_by_role("heading", name="Lumen storefront").wait_for()
    assert "dsr:write, users:write" in page.inner_text("main")
    submit(page, "Rotate the secret", admin.fresh_code())
    page.get_by_text("The secret is rotated; the old one no longer works.").wait_for()
    rotated = page.locator("code.secret").inner_text()
    assert token_status(server, client_id, secret) == 401
    assert token_status(server, client_id, rotated) == 200

    page.get_by_role("link", name="Done", exact=True).click()
    page.get_by_role("heading", name="Lumen storefront").wait_for()
    look(page, screenshots, "console-client")
    submit(page, "Disable Lumen storefront", admin.fresh_code())
    page.get_by_text("Disabled on").wait_for()
    assert token_status(server, client_id, rotated) == 401

    page.goto("/console/clients/nope")  # no such client: the console's error page
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert "There is no such page." in page.inner_text("main")
    assert page.get_by_role("navigation", name="Staff console").is_visible()  # in the console's frame
    look(page, screenshots, "console-not-found")
    context.close()


def test_an_admin_creates_an_officer_who_signs_in_then_resets_their_second_factor(
    chromium: Any, server: LiveServer, admin: Admin, screenshots: Path
) -> None:
    context = chromium.new_context(base_url=server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, code=admin.totp.now())
    page.get_by_role("heading", name="Staff console").wait_for()
    page.goto("/console/staff")
    page.get_by_label("Email").fill(OFFICER_EMAIL)
    page.get_by_label("First password").fill(OFFICER_PASSWORD)
    page.get_by_label("Compliance officer").check()
    submit(page, "Create the account", admin.fresh_code())
    page.get_by_role("heading", name="The account's second factor").wait_for()
    assert page.locator("ul.codes li").count() >= 8
    officer_totp = shown_key(page)
    look(page, screenshots, "console-staff-enrolment")

    officer_context = chromium.new_context(base_url=server.url, locale="en-GB")
    officer_page = officer_context.new_page()
    sign_in(officer_page, email=OFFICER_EMAIL, password=OFFICER_PASSWORD, code=officer_totp.now())
    officer_page.get_by_role("heading", name="Requests").wait_for()

    page.get_by_role("link", name="Done", exact=True).click()
    page.get_by_role("heading", name="Staff accounts", exact=True).wait_for()
    assert "(you)" in page.get_by_role("row", name=ADMIN_EMAIL).inner_text()
    look(page, screenshots, "console-staff")

    page.get_by_role("link", name=OFFICER_EMAIL).click()
    page.get_by_role("heading", name=OFFICER_EMAIL).wait_for()
    submit(page, "Reset the second factor", "123456")  # wrong: refused, and the officer stays signed in
    assert "That code is not right" in page.get_by_role("alert").inner_text()
    officer_page.reload()
    officer_page.get_by_role("heading", name="Requests").wait_for()

    submit(page, "Reset the second factor", admin.fresh_code())
    page.get_by_text("The second factor is reset; the account's sessions have ended.").wait_for()
    assert shown_key(page).secret != officer_totp.secret
    officer_page.reload()
    officer_page.get_by_role("heading", name="Sign in to the staff console").wait_for()
    assert officer_page.url.endswith("/console/sign-in")
    officer_context.close()
    context.close()


def wait_until_failing(page: Any, system: str) -> None:
    """Reload the systems page until ``system``'s delivery failed and waits for its retry."""
    deadline = time.monotonic() + 60
    section = page.get_by_role("region", name=system)
    while "failing, being retried" not in section.inner_text():
        assert time.monotonic() < deadline, "the worker did not try the system"
        time.sleep(0.3)
        page.reload()


def test_an_admin_registers_a_system_and_sees_its_deliveries_fail(
    chromium: Any, operator: dict[str, str], server: LiveServer, admin: Admin, screenshots: Path
) -> None:
    shop = client_headers(server, cli_json(operator, "clients", "create", "--name", "shop", "--scopes",
                                           "users:write dsr:write"))  # fmt: skip
    context = chromium.new_context(base_url=server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, code=admin.totp.now())
    page.get_by_role("heading", name="Staff console").wait_for()
    with FakeDownstream(name="newsletter") as newsletter:
        newsletter.fail_first(1000)
        page.goto("/console/systems")
        page.get_by_label("Name").fill("newsletter")
        page.get_by_label("Address").fill(newsletter.url)
        page.get_by_label("Signing secret").fill(newsletter.secret)
        page.get_by_label("Access").check()
        page.get_by_label("Erasure").check()
        page.get_by_label("Data categories it holds (one per line)").fill("contact\nmarketing_consent")
        submit(page, "Register", admin.fresh_code())
        section = page.get_by_role("region", name="newsletter")
        section.wait_for()
        assert "No task has reached this system yet." in section.inner_text()

        created = httpx.post(
            server.url + "/v1/users",
            json={"email": "grace@example.com", "password": CUSTOMER_PASSWORD, "country": "FR"},
            headers=shop,
        )
        assert created.status_code == 201, created.text
        filed = httpx.post(
            server.url + "/v1/dsr", json={"type": "access", "subject_id": created.json()["id"]}, headers=shop
        )
        assert filed.status_code == 202, filed.text
        newsletter.wait_for_deliveries(1, timeout=60)
        wait_until_failing(page, "newsletter")
        assert filed.json()["id"] in section.inner_text()
        assert "503" in section.inner_text()
        look(page, screenshots, "console-systems")

        page.goto("/console/systems?lang=de")
        page.get_by_role("heading", name="Nachgelagerte Systeme").wait_for()
        look(page, screenshots, "console-systems-de")
    context.close()
