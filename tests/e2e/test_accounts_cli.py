"""Bootstrap and migration from the console, then login through the real server, as an operator would."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest

from tests.e2e.conftest import LiveServer, run_cli

pytestmark = pytest.mark.e2e

MD5_CRYPT = "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"  # md5-crypt: a format no shop should still use
VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "legacy_password_hashes.json").read_text())


def vector(scheme: str, password: str) -> str:
    for entry in VECTORS["vectors"]:
        if entry["scheme"] == scheme and entry["password"] == password and not entry.get("slow"):
            return str(entry["hash"])
    raise LookupError(scheme)


def create_client(env: dict[str, str], scopes: str) -> dict[str, Any]:
    result = run_cli("clients", "create", "--name", "shop", "--scopes", scopes, "--json", env=env)
    assert result.returncode == 0, result.stderr
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def client_token(server: LiveServer, client: dict[str, Any]) -> dict[str, str]:
    response = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def login(server: LiveServer, headers: dict[str, str], email: str, password: str) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


def test_clients_create_prints_the_secret_once_and_it_works(
    operator: dict[str, str], server: LiveServer
) -> None:
    client = create_client(operator, "auth:login users:write")
    assert client["name"] == "shop"
    assert sorted(client["scopes"]) == ["auth:login", "users:write"]
    assert client_token(server, client)
    wrong = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], "nope"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_clients_create_refuses_an_unknown_scope(operator: dict[str, str]) -> None:
    result = run_cli(
        "clients", "create", "--name", "shop", "--scopes", "auth:login vault:everything", env=operator
    )
    assert result.returncode == 2
    assert "unknown scope 'vault:everything'" in result.stderr
    assert "Traceback" not in result.stderr


def test_admin_create_enrols_totp_and_the_admin_logs_in_with_it(
    operator: dict[str, str], server: LiveServer
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "privacy_service", "admin", "create", "--email", "ops@shop.example",
         "--role", "compliance_officer", "--password-stdin", "--json"],
        input="a long staff passphrase 2026\n", env=operator, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["email"] == "ops@shop.example"
    assert created["otpauth_uri"].startswith("otpauth://totp/")
    assert len(created["recovery_codes"]) == 10
    secret = parse_qs(urlparse(created["otpauth_uri"]).query)["secret"][0]

    headers = client_token(server, create_client(operator, "auth:login"))
    first = login(server, headers, "ops@shop.example", "a long staff passphrase 2026")
    assert first.status_code == 200, first.text
    assert first.json()["mfa_required"] is True
    second = httpx.post(
        server.url + "/v1/auth/mfa",
        json={"mfa_token": first.json()["mfa_token"], "code": pyotp.TOTP(secret).now()},
        headers=headers,
    )
    assert second.status_code == 200, second.text
    assert "access_token" in second.json()


def test_admin_create_refuses_a_short_staff_password(operator: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "privacy_service", "admin", "create", "--email", "ops@shop.example",
         "--password-stdin"],
        input="short pass\n", env=operator, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "12" in result.stderr
    assert "Traceback" not in result.stderr


def test_users_import_moves_legacy_hashes_in_and_each_logs_in_with_its_old_password(
    operator: dict[str, str], server: LiveServer, tmp_path: Path
) -> None:
    accounts = [
        (
            "bcrypt@shop.example",
            vector("bcrypt", "correct horse battery staple"),
            "correct horse battery staple",
        ),
        ("django@shop.example", vector("django_pbkdf2_sha256", "lètmein"), "lètmein"),
        (
            "wp@shop.example",
            vector("wordpress_bcrypt", "correct horse battery staple"),
            "correct horse battery staple",
        ),
        (
            "phpass@shop.example",
            vector("phpass", "correct horse battery staple"),
            "correct horse battery staple",
        ),
        ("magento@shop.example", vector("magento", "migrated from magento 1"), "migrated from magento 1"),
    ]
    lines = [json.dumps({"email": e, "password_hash": h, "country": "DE"}) for e, h, _ in accounts]
    lines += [
        json.dumps(
            {"email": "BCRYPT@shop.example ", "password_hash": accounts[0][1], "country": "DE"}
        ),  # present
        "{not json",
        json.dumps(
            {
                "email": "md5@shop.example",
                "password_hash": "5f4dcc3b5aa765d61d8327deb882cf99",
                "country": "DE",
            }
        ),
        json.dumps({"email": "nohash@shop.example", "country": "DE"}),
        json.dumps({"email": "md5crypt@shop.example", "password_hash": MD5_CRYPT, "country": "DE"}),
    ]
    source = tmp_path / "customers.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = run_cli("users", "import", str(source), "--json", env=operator)

    assert result.returncode == 1  # some lines failed
    report = json.loads(result.stdout)
    assert report["imported"] == 5
    assert report["skipped"] == 1
    assert [failure["line"] for failure in report["failed"]] == [7, 8, 9, 10]
    errors = {failure["line"]: failure["error"] for failure in report["failed"]}
    assert errors[8].startswith("unsupported password hash format: no format prefix")
    assert errors[10] == "unsupported password hash format: $1$"
    assert "shop.example" not in result.stdout + result.stderr  # no personal data in the report
    assert "5f4dcc3b5aa765d61d8327deb882cf99" not in result.stdout + result.stderr
    assert MD5_CRYPT[3:] not in result.stdout + result.stderr, "a hash is never echoed"

    headers = client_token(server, create_client(operator, "auth:login"))
    for email, _hash, password in accounts:
        assert login(server, headers, email, password).status_code == 200, email
        assert login(server, headers, email, password).status_code == 200, email  # now argon2id
        assert login(server, headers, email, password + "x").status_code == 401, email


def run_in_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the command with stderr on a pseudo-terminal (as an operator's shell has it); stdout on a pipe."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "privacy_service", *args],
            env={**env, "COLUMNS": "100"}, stdout=subprocess.PIPE, stderr=follower, text=True,
        )  # fmt: skip
        os.close(follower)
        terminal = bytearray()
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the command closed its end
                break
            if not chunk:
                break
            terminal += chunk
        stdout = process.stdout.read() if process.stdout else ""
        return process.wait(60), stdout, terminal.decode("utf-8", "replace")
    finally:
        os.close(leader)


def import_file(tmp_path: Path, count: int) -> Path:
    source = tmp_path / "customers.jsonl"
    bcrypt_hash = vector("bcrypt", "correct horse battery staple")
    lines = (
        json.dumps({"email": f"c{n}@shop.example", "password_hash": bcrypt_hash, "country": "DE"})
        for n in range(count)
    )
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return source


def test_users_import_shows_its_progress_on_a_terminal(operator: dict[str, str], tmp_path: Path) -> None:
    code, stdout, terminal = run_in_a_terminal(["users", "import", str(import_file(tmp_path, 3))], operator)

    assert code == 0, terminal
    assert "importing" in terminal
    assert "100%" in terminal
    assert stdout.strip().endswith("imported 3, skipped 0 (already present), failed 0")


def test_users_import_shows_no_progress_with_json_or_off_a_terminal(
    operator: dict[str, str], tmp_path: Path
) -> None:
    source = import_file(tmp_path, 2)
    code, stdout, terminal = run_in_a_terminal(["users", "import", str(source), "--json"], operator)
    assert code == 0, terminal
    assert json.loads(stdout) == {"imported": 2, "skipped": 0, "failed": []}
    assert "importing" not in terminal

    piped = run_cli("users", "import", str(source), env=operator)
    assert piped.returncode == 0
    assert "importing" not in piped.stderr + piped.stdout
