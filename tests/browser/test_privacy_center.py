"""A customer in Chromium: signs in with TOTP, files an erasure, watches it complete, and sees what was kept.

Everything is real: the server and its worker as subprocesses, a downstream
system on loopback that answers the erasure with what a law makes it keep, the
browser typing into the forms. Every page is checked with axe-core and saved
as a screenshot, in English and in German.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e.conftest import LiveServer, run_cli, service_environment
from tests.e2e.test_dsr_server import (
    admin_headers,
    bearer,
    cli_json,
    client_headers,
)
from tests.support.downstream import FakeDownstream

pytestmark = pytest.mark.e2e

CUSTOMER_EMAIL = "ada@example.com"
CUSTOMER_PASSWORD = "Tandem-Lighthouse-42"
SERIOUS = {"serious", "critical"}


@pytest.fixture
def operator(tmp_path: Path, server_database: str) -> dict[str, str]:
    env = service_environment(
        tmp_path / "data",
        server_database,
        PRIVACY_DELIVERY_RETRY_MIN_SECONDS="0.2",
        PRIVACY_SHOP_NAME="Lumen Shop",
    )
    assert run_cli("migrate", env=env).returncode == 0
    return env


def assert_accessible(page: Any) -> None:
    """No serious or critical axe-core violation (WCAG 2.1 A and AA rules) on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    )
    violations = [
        f"{violation['id']} ({violation['impact']}): {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]
    assert not violations, f"{page.url}: {violations}"


def look(page: Any, screenshots: Path, name: str) -> None:
    assert_accessible(page)
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def shown_key(page: Any) -> pyotp.TOTP:
    """The authenticator key a page shows once, as "Key: ABCD EFGH ...", typed in by hand."""
    match = re.search(r"Key:\s*([A-Z2-7 ]+)", page.inner_text("main"))
    assert match, "no key on the page"
    return pyotp.TOTP(match.group(1).replace(" ", ""))


def a_customer_with_totp(server: LiveServer, shop: dict[str, str]) -> tuple[pyotp.TOTP, list[str]]:
    """Register a customer and enrol TOTP through the API, confirmed with the previous step's code,
    so the current step is still unused when the browser signs in."""
    created = httpx.post(
        server.url + "/v1/users",
        json={"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD, "country": "DE",
              "profile": {"given_name": "Ada", "family_name": "Lovelace"}},
        headers=shop,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    tokens = httpx.post(
        server.url + "/v1/auth/login",
        json={"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD},
        headers=shop,
    ).json()
    started = httpx.post(server.url + "/v1/me/mfa/totp", headers=bearer(tokens["access_token"]))
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = httpx.post(
        server.url + "/v1/me/mfa/totp/confirm",
        json={"code": totp.at(time.time() - 30)},
        headers=bearer(tokens["access_token"]),
    )
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


def test_a_customer_without_a_second_factor_sets_up_an_authenticator_app(
    chromium: Any, operator: dict[str, str], server: LiveServer, screenshots: Path
) -> None:
    shop = client_headers(server, cli_json(operator, "clients", "create", "--name", "shop", "--scopes",
                                           "users:write"))  # fmt: skip
    created = httpx.post(
        server.url + "/v1/users",
        json={"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD, "country": "DE"},
        headers=shop,
    )
    assert created.status_code == 201, created.text

    context = chromium.new_context(base_url=server.url, locale="en-GB")
    page = context.new_page()
    page.goto("/privacy/sign-in")
    page.get_by_label("Email").fill(CUSTOMER_EMAIL)
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My data and requests").wait_for()  # no code asked: none is set up

    page.get_by_role("link", name="Sign-in and security").click()
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.get_by_role("heading", name="Set up an authenticator app").wait_for()
    assert page.get_by_role("img", name="QR code with the key of your authenticator account").is_visible()
    totp = shown_key(page)
    look(page, screenshots, "privacy-totp-enrol")

    page.get_by_label("Code").fill(totp.now())
    page.get_by_role("button", name="Turn it on").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    assert page.locator("ul.codes li").count() >= 8
    look(page, screenshots, "privacy-recovery-codes")

    page.get_by_role("link", name="Done", exact=True).click()
    assert "Your account asks for a code from your authenticator app at every sign-in." in page.inner_text(
        "main"
    )
    context.close()


def test_a_customer_erases_their_data_and_sees_what_was_kept(
    chromium: Any, operator: dict[str, str], server: LiveServer, screenshots: Path
) -> None:
    shop = client_headers(server, cli_json(operator, "clients", "create", "--name", "shop", "--scopes",
                                           "auth:login users:write"))  # fmt: skip
    admin = admin_headers(server, operator, shop)
    with FakeDownstream(name="orders", check_timestamp=True) as orders:
        orders.answer_completed(
            {}, retained=[{"category": "invoices", "reason": "AO §147 (tax law)", "until": "2034-12-31"}]
        )
        registered = httpx.post(
            server.url + "/v1/systems",
            json={"name": "orders", "url": orders.url, "secret": orders.secret,
                  "request_types": ["access", "erasure"], "categories": ["invoices"]},
            headers=admin,
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
        totp, recovery_codes = a_customer_with_totp(server, shop)

        context = chromium.new_context(base_url=server.url, locale="en-GB")
        page = context.new_page()
        page.goto("/privacy/")
        assert page.url.endswith("/privacy/sign-in")
        look(page, screenshots, "privacy-sign-in")
        page.get_by_label("Email").fill(CUSTOMER_EMAIL)
        page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        look(page, screenshots, "privacy-sign-in-code")
        page.get_by_label("Code").fill(totp.now())
        page.get_by_role("button", name="Continue").click()

        page.get_by_role("heading", name="My data and requests").wait_for()
        assert "Lovelace" in page.content()
        look(page, screenshots, "privacy-overview")

        page.get_by_role("link", name="Sign-in and security").click()
        page.get_by_role("heading", name="Where you are signed in").wait_for()
        look(page, screenshots, "privacy-security")
        page.goto("/privacy/requests/01J0000000000000000000000")  # no such request: the error page
        assert "Not found" in page.inner_text("main")
        look(page, screenshots, "privacy-not-found")
        page.goto("/privacy/")

        page.get_by_role("link", name="Erase my data").click()
        page.get_by_role("heading", name="Erase my data").wait_for()
        assert "orders" in page.inner_text("main")  # the system that will be asked, and what it must keep
        look(page, screenshots, "privacy-erasure-confirm")
        page.get_by_label("I understand that my data will be erased").check()
        page.get_by_label("Code from your authenticator app").fill(recovery_codes[0])
        page.get_by_role("button", name="Erase my data").click()

        page.get_by_role("heading", name="Erasure of my data").wait_for()
        deadline = time.monotonic() + 60
        while "AO §147 (tax law)" not in page.content():
            assert time.monotonic() < deadline, "the erasure did not complete"
            time.sleep(0.3)
            page.reload()
        assert re.search(r"Status\s*Completed", page.inner_text("main"))
        assert "invoices" in page.inner_text("main")
        look(page, screenshots, "privacy-request-completed")

        german = chromium.new_context(
            base_url=server.url, locale="de-DE", extra_http_headers={"Accept-Language": "de-DE,de"}
        )
        german_page = german.new_page()
        german_page.goto("/privacy/sign-in")
        assert german_page.get_by_role("button", name="Anmelden").is_visible()
        look(german_page, screenshots, "privacy-sign-in-de")
        context.close()
        german.close()
