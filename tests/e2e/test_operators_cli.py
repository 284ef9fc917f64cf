"""The operators' commands, run as an operator would, against the real server.

``clients list|disable|rotate-secret`` and ``admin list|disable|reset-mfa``:
what each prints, what changes for the shop or staff member at the server,
and the audit event each change leaves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from sqlalchemy import create_engine, select

from privacy_service.audit.models import AuditEvent
from tests.e2e.conftest import PATIENCE_SECONDS, LiveServer, run_cli

pytestmark = pytest.mark.e2e

STAFF_PASSWORD = "a long staff passphrase 2026"
STAFF_EMAIL = "Officer@Shop.example"


def cli_json(env: dict[str, str], *args: str) -> Any:
    result = run_cli(*args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def create_client(env: dict[str, str], name: str = "shop", scopes: str = "auth:login") -> dict[str, Any]:
    created: dict[str, Any] = cli_json(env, "clients", "create", "--name", name, "--scopes", scopes)
    return created


def token_response(server: LiveServer, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        server.url + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def create_staff(env: dict[str, str], email: str = STAFF_EMAIL, role: str = "compliance_officer") -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "privacy_service", "admin", "create", "--email", email, "--role", role,
         "--password-stdin", "--json"],
        input=STAFF_PASSWORD + "\n", env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def totp_of(otpauth_uri: str) -> pyotp.TOTP:
    return pyotp.TOTP(parse_qs(urlparse(otpauth_uri).query)["secret"][0])


def password_step(server: LiveServer, shop: dict[str, str], password: str = STAFF_PASSWORD) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/auth/login", json={"email": STAFF_EMAIL, "password": password}, headers=shop
    )


def sign_in(server: LiveServer, shop: dict[str, str], code: str) -> httpx.Response:
    first = password_step(server, shop)
    assert first.status_code == 200, first.text
    return httpx.post(
        server.url + "/v1/auth/mfa", json={"mfa_token": first.json()["mfa_token"], "code": code}, headers=shop
    )


def my_sessions(server: LiveServer, access: dict[str, str]) -> httpx.Response:
    return httpx.get(server.url + "/v1/me/sessions", headers=access)


def audit_events(env: dict[str, str], target_id: str) -> list[tuple[str, str, str]]:
    """(action, actor_type, outcome) of every event naming ``target_id``, in the service's own database."""
    url = env.get("PRIVACY_DATABASE_URL") or f"sqlite:///{Path(env['PRIVACY_DATA_DIR']) / 'privacy.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(AuditEvent.action, AuditEvent.actor_type, AuditEvent.outcome)
                .where(AuditEvent.target_id == target_id)
                .order_by(AuditEvent.at)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        engine.dispose()


def without_request_id(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("request_id", None)
    return body


# -- clients --------------------------------------------------------------------------------------------


def test_clients_list_shows_every_client_and_never_a_secret(operator: dict[str, str]) -> None:
    first = create_client(operator, name="web shop", scopes="auth:login users:write")
    second = create_client(operator, name="warehouse", scopes="dsr:write")

    listed = cli_json(operator, "clients", "list")

    assert [(c["client_id"], c["name"], c["scopes"], c["disabled_at"]) for c in listed] == [
        (first["client_id"], "web shop", ["auth:login", "users:write"], None),
        (second["client_id"], "warehouse", ["dsr:write"], None),
    ]
    table = run_cli("clients", "list", env=operator)
    assert table.returncode == 0
    assert first["client_id"] in table.stdout
    assert "auth:login users:write" in table.stdout
    for secret in (first["client_secret"], second["client_secret"]):
        assert secret not in json.dumps(listed) + table.stdout + table.stderr


def test_a_rotated_secret_is_printed_once_and_the_old_one_is_refused_at_once(
    operator: dict[str, str], server: LiveServer
) -> None:
    client = create_client(operator)
    assert token_response(server, client["client_id"], client["client_secret"]).status_code == 200

    rotated = cli_json(operator, "clients", "rotate-secret", client["client_id"])

    assert rotated["client_id"] == client["client_id"]
    old = token_response(server, client["client_id"], client["client_secret"])
    assert (old.status_code, old.json()["error"]) == (401, "invalid_client")
    assert token_response(server, client["client_id"], rotated["client_secret"]).status_code == 200
    assert ("client_secret_rotate", "system", "success") in audit_events(operator, client["client_id"])
    listed = run_cli("clients", "list", env=operator)
    assert rotated["client_secret"] not in listed.stdout


def test_a_disabled_clients_secret_and_tokens_are_refused(
    operator: dict[str, str], server: LiveServer
) -> None:
    client = create_client(operator, scopes="auth:login users:write")
    access = bearer(token_response(server, client["client_id"], client["client_secret"]))
    register = {"email": "c@example.net", "password": "Tandem-Lighthouse-42", "country": "DE"}
    assert httpx.post(server.url + "/v1/users", json=register, headers=access).status_code == 201

    result = run_cli("clients", "disable", client["client_id"], env=operator)

    assert result.returncode == 0, result.stderr
    assert f"disabled client {client['client_id']}" in result.stdout
    refused = token_response(server, client["client_id"], client["client_secret"])
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    # A process may take a client it found enabled to stay so for a few seconds; then its tokens stop.
    deadline = time.monotonic() + PATIENCE_SECONDS
    while (answer := httpx.post(server.url + "/v1/users", json=register, headers=access)).status_code != 401:
        assert time.monotonic() < deadline, f"the disabled client's token still answers {answer.status_code}"
        time.sleep(0.2)
    listed = cli_json(operator, "clients", "list")
    assert listed[0]["disabled_at"] is not None
    assert audit_events(operator, client["client_id"]).count(("client_disable", "system", "success")) == 1

    again = cli_json(operator, "clients", "disable", client["client_id"])
    assert again == {"client_id": client["client_id"], "disabled": True, "changed": False}
    rotate = run_cli("clients", "rotate-secret", client["client_id"], env=operator)
    assert rotate.returncode == 1
    assert "is disabled" in rotate.stderr


@pytest.mark.parametrize("command", ["disable", "rotate-secret"])
def test_an_unknown_client_id_is_named_and_fails(operator: dict[str, str], command: str) -> None:
    result = run_cli("clients", command, "01jnosuchclient0000000001", env=operator)
    assert result.returncode == 1
    assert "no client has the id '01jnosuchclient0000000001'" in result.stderr
    assert "Traceback" not in result.stderr


# -- staff ----------------------------------------------------------------------------------------------


def test_admin_list_shows_staff_with_their_emails_roles_and_second_factor(operator: dict[str, str]) -> None:
    officer = create_staff(operator)
    admin = create_staff(operator, email="root@shop.example", role="admin")

    listed = cli_json(operator, "admin", "list")

    assert [(s["id"], s["email"], s["roles"], s["mfa_enrolled"], s["disabled_at"]) for s in listed] == [
        (officer["id"], STAFF_EMAIL, ["compliance_officer"], True, None),
        (admin["id"], "root@shop.example", ["admin"], True, None),
    ]
    table = run_cli("admin", "list", env=operator)
    assert STAFF_EMAIL in table.stdout
    assert STAFF_EMAIL not in table.stderr, "the email goes to the operator's terminal, not the log stream"


def test_a_disabled_staff_account_is_refused_as_a_wrong_password_and_its_sessions_end(
    operator: dict[str, str], server: LiveServer
) -> None:
    officer = create_staff(operator)
    shop = bearer(token_response(server, **_secret_of(create_client(operator))))
    signed_in = sign_in(server, shop, totp_of(officer["otpauth_uri"]).now())
    access = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert my_sessions(server, access).status_code == 200
    wrong_password = password_step(server, shop, password=STAFF_PASSWORD + "x")
    assert wrong_password.status_code == 401

    disabled = cli_json(operator, "admin", "disable", "--email", STAFF_EMAIL.lower())

    assert disabled == {"id": officer["id"], "disabled": True, "changed": True, "sessions_revoked": 1}
    assert my_sessions(server, access).status_code == 401
    refresh = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": signed_in.json()["refresh_token"]},
        headers=shop,
    )
    assert refresh.status_code in (400, 401)
    right_password = password_step(server, shop)
    assert right_password.status_code == 401
    assert without_request_id(right_password) == without_request_id(wrong_password)
    assert ("user_disable", "system", "success") in audit_events(operator, officer["id"])
    assert cli_json(operator, "admin", "list")[0]["disabled_at"] is not None


def test_a_reset_second_factor_prints_a_new_enrolment_and_the_old_one_stops_working(
    operator: dict[str, str], server: LiveServer
) -> None:
    officer = create_staff(operator)
    shop = bearer(token_response(server, **_secret_of(create_client(operator))))
    old_totp = totp_of(officer["otpauth_uri"])
    signed_in = sign_in(server, shop, old_totp.now())
    access = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    reset = cli_json(operator, "admin", "reset-mfa", "--id", officer["id"])

    assert reset["id"] == officer["id"]
    assert reset["otpauth_uri"].startswith("otpauth://totp/")
    assert len(reset["recovery_codes"]) == 10
    assert reset["sessions_revoked"] == 1
    assert my_sessions(server, access).status_code == 401
    new_totp = totp_of(reset["otpauth_uri"])
    assert new_totp.secret != old_totp.secret
    stale = sign_in(server, shop, officer["recovery_codes"][0])
    assert stale.status_code == 401
    assert sign_in(server, shop, new_totp.now()).status_code == 200
    assert ("mfa_reset", "system", "success") in audit_events(operator, officer["id"])
    table = run_cli("admin", "reset-mfa", "--email", STAFF_EMAIL, env=operator)
    assert table.returncode == 0, table.stderr
    assert "otpauth://totp/" in table.stdout
    assert "recovery codes (shown once)" in table.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--email", "nobody@shop.example"),
        ("--id", "01jnosuchuser000000000001"),
        ("--email", "customer@x.example"),
    ],
)
def test_admin_commands_on_an_account_that_is_not_staff_fail_saying_so(
    operator: dict[str, str], server: LiveServer, args: tuple[str, str]
) -> None:
    shop = bearer(token_response(server, **_secret_of(create_client(operator, scopes="users:write"))))
    customer = {"email": "customer@x.example", "password": "Tandem-Lighthouse-42", "country": "DE"}
    assert httpx.post(server.url + "/v1/users", json=customer, headers=shop).status_code == 201
    for command in ("disable", "reset-mfa"):
        result = run_cli("admin", command, *args, env=operator)
        assert result.returncode == 1
        assert "No staff account has this id or email" in result.stderr
        assert "Traceback" not in result.stderr


def test_admin_disable_needs_exactly_one_of_email_and_id(operator: dict[str, str]) -> None:
    for args in ((), ("--email", "a@shop.example", "--id", "01jnosuchuser000000000001")):
        result = run_cli("admin", "disable", *args, env=operator)
        assert result.returncode == 2
        assert "--email or --id" in result.stderr


def _secret_of(client: dict[str, Any]) -> dict[str, str]:
    return {"client_id": client["client_id"], "secret": client["client_secret"]}
