#!/usr/bin/env python3
"""Schemathesis against the real server: the OpenAPI document must tell the truth.

    .venv/bin/python tests/contract/run_schemathesis.py [more `st run` options]

Starts ``privacy-service serve`` on a temporary data directory and a free
port, provisions what the API's callers hold (a shop client with every scope,
two customers, a compliance officer and an admin, the staff signed in with
their second factor), and runs ``st run`` against the service's own
``/openapi.json`` within the bound below. ``schemathesis.toml`` beside this
file says which credentials each operation is called with. Exits with
schemathesis' status: non-zero on any server error or conformance failure.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# As pyproject.toml's pytest settings do: tests/conftest.py imports the TestClient, which only nudges.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from privacy_service.identity.scopes import Scope  # noqa: E402
from tests.e2e.conftest import LiveServer, service_environment, start_server  # noqa: E402

CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"

# The bound: at most MAX_EXAMPLES generated cases per operation in each phase, from one fixed seed,
# so a failure reproduces with the same command and the run takes about a minute on two cores.
# The stateful phase is left out: the document declares no links between operations for it to follow.
MAX_EXAMPLES = 100
SEED = 20261206
PHASES = "examples,coverage,fuzzing"
REQUEST_TIMEOUT_SECONDS = 10

# Every check schemathesis has (server errors; status code, content type, response schema and
# response header conformance; negative data rejection; Allow on 405; unsupported methods; missing
# required headers), but these. positive_data_acceptance expects a 2xx for every schema-valid request,
# while some rules only the server can know: a cursor this list issued, a refresh token still live,
# subject_id required of a shop but not of a customer. Such a request is answered a documented 4xx.
LEFT_OUT_CHECKS = ("positive_data_acceptance",)

STAFF_PASSWORD = "contract staff passphrase 2026"
CUSTOMER_PASSWORD = "Contract-Lighthouse-42"


def bound() -> str:
    return (
        f"at most {MAX_EXAMPLES} cases per operation in each phase ({PHASES}), seed {SEED}, "
        f"{REQUEST_TIMEOUT_SECONDS} s per request; every check but {', '.join(LEFT_OUT_CHECKS)}"
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cli_json(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "privacy_service", *args, "--json"],
        input=stdin, env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"privacy-service {args[0]} {args[1]} failed:\n{result.stderr}")
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def client_token(server: LiveServer, client: dict[str, Any]) -> str:
    answer = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def staff_token(server: LiveServer, env: dict[str, str], shop: str, *, email: str, role: str) -> str:
    """A staff member made by the CLI, signed in with password and TOTP through the shop client."""
    created = cli_json(
        env,
        "admin",
        "create",
        "--email",
        email,
        "--role",
        role,
        "--password-stdin",
        stdin=STAFF_PASSWORD + "\n",
    )
    secret = parse_qs(urlparse(created["otpauth_uri"]).query)["secret"][0]
    first = httpx.post(
        server.url + "/v1/auth/login", json={"email": email, "password": STAFF_PASSWORD}, headers=bearer(shop)
    )
    first.raise_for_status()
    second = httpx.post(
        server.url + "/v1/auth/mfa",
        json={"mfa_token": first.json()["mfa_token"], "code": pyotp.TOTP(secret).now()},
        headers=bearer(shop),
    )
    second.raise_for_status()
    return str(second.json()["access_token"])


def customer(server: LiveServer, shop: str, *, email: str) -> tuple[str, str]:
    """A customer registered by the shop and signed in: their id and their access token."""
    registered = httpx.post(
        server.url + "/v1/users",
        json={"email": email, "password": CUSTOMER_PASSWORD, "country": "DE"},
        headers=bearer(shop),
    )
    registered.raise_for_status()
    login = httpx.post(
        server.url + "/v1/auth/login",
        json={"email": email, "password": CUSTOMER_PASSWORD},
        headers=bearer(shop),
    )
    login.raise_for_status()
    return str(registered.json()["id"]), str(login.json()["access_token"])


def access_request(server: LiveServer, shop: str, *, subject_id: str) -> str:
    filed = httpx.post(
        server.url + "/v1/dsr", json={"type": "access", "subject_id": subject_id}, headers=bearer(shop)
    )
    filed.raise_for_status()
    return str(filed.json()["id"])


#: The metrics token of the run's server (a throwaway: the server lives as long as the run).
METRICS_TOKEN = secrets.token_hex(16)


def credentials(server: LiveServer, env: dict[str, str]) -> dict[str, str]:
    """What schemathesis.toml reads from the environment: one credential per kind of caller, and real ids."""
    scopes = " ".join(sorted(Scope))
    client = cli_json(env, "clients", "create", "--name", "contract", "--scopes", scopes)
    shop = client_token(server, client)
    subject_id, customer_token = customer(server, shop, email="customer@example.com")
    _, disposable_token = customer(server, shop, email="another@example.com")
    basic = f"{client['client_id']}:{client['client_secret']}".encode()
    return {
        "CONTRACT_CLIENT_BASIC": base64.b64encode(basic).decode(),
        "CONTRACT_CLIENT_TOKEN": shop,
        "CONTRACT_CUSTOMER_TOKEN": customer_token,
        "CONTRACT_DISPOSABLE_CUSTOMER_TOKEN": disposable_token,
        "CONTRACT_OFFICER_TOKEN": staff_token(
            server, env, shop, email="officer@shop.example", role="compliance_officer"
        ),
        "CONTRACT_ADMIN_TOKEN": staff_token(server, env, shop, email="admin@shop.example", role="admin"),
        "CONTRACT_METRICS_TOKEN": METRICS_TOKEN,
        "CONTRACT_SUBJECT_ID": subject_id,
        "CONTRACT_REQUEST_ID": access_request(server, shop, subject_id=subject_id),
    }


def main(more_options: list[str]) -> int:
    print(f"schemathesis bound: {bound()}", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="privacy-contract-") as scratch:
        report = Path(scratch) / "report.json"
        env = service_environment(Path(scratch) / "data", PRIVACY_METRICS_TOKEN=METRICS_TOKEN)
        server = start_server(env, Path(scratch) / "server.log")
        try:
            command = [
                str(Path(sys.executable).with_name("st")),
                "--config-file", str(CONFIG),
                "run", server.url + "/openapi.json",
                "--phases", PHASES,
                "--max-examples", str(MAX_EXAMPLES),
                "--seed", str(SEED),
                "--checks", "all",
                "--exclude-checks", ",".join(LEFT_OUT_CHECKS),
                "--request-timeout", str(REQUEST_TIMEOUT_SECONDS),
                "--generation-database", "none",
                "--report", "json", "--report-json-path", str(report),
                # One worker: in CPython 3.11 two threads in ast.parse at once can fail (gh-106905, a
                # shared recursion counter), and Hypothesis parses source to describe its strategies.
                "--workers", "1",
                "--no-color",
                *more_options,
            ]  # fmt: skip
            # In the scratch directory, so that nothing schemathesis or Hypothesis keep lands in the checkout.
            status = subprocess.run(
                command, env={**os.environ, **credentials(server, env)}, cwd=scratch, check=False
            ).returncode
        finally:
            server.stop()
        if status != 0:
            print(f"--- the server's log, last lines ---\n{server.log()[-6000:]}", file=sys.stderr)
        print(f"schemathesis took {time.monotonic() - started:.0f} s in all, the server's start included")
        print(closing_line(report, status))
    return status


def closing_line(report: Path, status: int) -> str:
    """``schemathesis: N passed, N failed`` alone on a line, counting the generated test cases."""
    if not report.exists():  # it stopped before it could report
        return f"schemathesis: 0 passed, {int(status != 0)} failed"
    cases = json.loads(report.read_text(encoding="utf-8"))["test_cases"]
    failed = cases["with_failures"] + cases["errored"]
    if status != 0:
        failed = max(failed, 1)
    return f"schemathesis: {cases['generated'] - failed} passed, {failed} failed"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
