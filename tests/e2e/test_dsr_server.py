"""Data subject requests against the real server and its worker, as a shop and its systems would see them.

Everything crosses real HTTP: the operator bootstraps with the CLI, an admin
registers downstream systems, the shop files requests, the worker delivers
Standard Webhooks that the fake systems check with the reference library
(timestamps included, on the wall clock), and a system completes by a signed
callback to the URL it was given.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from sqlalchemy import Engine, text

from tests.e2e.conftest import LiveServer, run_cli, service_environment, start_server
from tests.support.downstream import FakeDownstream

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "a long staff passphrase 2026"
CUSTOMER_PASSWORD = "Tandem-Lighthouse-42"


@pytest.fixture
def operator(tmp_path: Path, server_database: str) -> dict[str, str]:
    env = service_environment(tmp_path / "data", server_database, PRIVACY_DELIVERY_RETRY_MIN_SECONDS="0.2")
    assert run_cli("migrate", env=env).returncode == 0
    return env


@pytest.fixture
def server(operator: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(operator, tmp_path / "server.log")  # with its worker
    yield live
    live.stop()


def cli_json(env: dict[str, str], *args: str, stdin: str | None = None) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "privacy_service", *args, "--json"],
        input=stdin, env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client_headers(server: LiveServer, client: dict[str, Any]) -> dict[str, str]:
    answer = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def admin_headers(server: LiveServer, env: dict[str, str], shop: dict[str, str]) -> dict[str, str]:
    admin = cli_json(env, "admin", "create", "--email", "admin@shop.example", "--password-stdin",
                     stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
    secret = parse_qs(urlparse(admin["otpauth_uri"]).query)["secret"][0]
    first = httpx.post(
        server.url + "/v1/auth/login",
        json={"email": "admin@shop.example", "password": ADMIN_PASSWORD},
        headers=shop,
    )
    second = httpx.post(
        server.url + "/v1/auth/mfa",
        json={"mfa_token": first.json()["mfa_token"], "code": pyotp.TOTP(secret).now()},
        headers=shop,
    )
    assert second.status_code == 200, second.text
    return bearer(second.json()["access_token"])


def wait_for_end(server: LiveServer, request_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        view: dict[str, Any] = httpx.get(f"{server.url}/v1/dsr/{request_id}", headers=headers).json()
        if view["status"] in {"completed", "partially_completed", "failed", "rejected"}:
            return view
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} did not end: {view}")


def test_a_shop_files_access_and_erasure_and_systems_answer_at_once_or_by_signed_callback(
    operator: dict[str, str], server: LiveServer
) -> None:
    shop = client_headers(server, cli_json(operator, "clients", "create", "--name", "shop", "--scopes",
                                           "auth:login users:write dsr:write"))  # fmt: skip
    admin = admin_headers(server, operator, shop)
    with (
        FakeDownstream(name="orders", check_timestamp=True) as orders,
        FakeDownstream(name="support", check_timestamp=True) as support,
    ):
        orders.answer_completed(
            {"orders": [{"id": "o-1"}]},
            retained=[{"category": "invoices", "reason": "AO §147", "until": "2034-12-31"}],
        )
        support.answer_accepted()
        for fake in (orders, support):
            registered = httpx.post(
                server.url + "/v1/systems",
                json={"name": fake.name, "url": fake.url, "secret": fake.secret,
                      "request_types": ["access", "erasure"], "categories": ["invoices"]},
                headers=admin,
            )  # fmt: skip
            assert registered.status_code == 201, registered.text
            assert fake.secret not in registered.text

        created = httpx.post(
            server.url + "/v1/users",
            json={"email": "ada@example.com", "password": CUSTOMER_PASSWORD, "country": "DE"},
            headers=shop,
        )
        subject_id = created.json()["id"]
        customer = httpx.post(
            server.url + "/v1/auth/login",
            json={"email": "ada@example.com", "password": CUSTOMER_PASSWORD},
            headers=shop,
        ).json()
        filed = httpx.post(
            server.url + "/v1/dsr", json={"type": "access"}, headers=bearer(customer["access_token"])
        )
        assert filed.status_code == 202, filed.text
        request_id = filed.json()["id"]

        [waiting] = support.wait_for_deliveries(1, timeout=10)
        assert waiting.payload["callback_url"] == f"{server.url}/v1/dsr/callbacks/{waiting.task_id}"
        callback = support.signed_callback(waiting, data={"tickets": [{"id": 7}]})
        answered = httpx.post(callback.url, content=callback.body, headers=callback.headers)
        assert answered.status_code == 200, answered.text

        ended = wait_for_end(server, request_id, bearer(customer["access_token"]))
        assert ended["status"] == "completed"
        export = httpx.get(
            f"{server.url}/v1/dsr/{request_id}/export", headers=bearer(customer["access_token"])
        )
        assert export.status_code == 200
        with zipfile.ZipFile(io.BytesIO(export.content)) as bundle:
            assert json.loads(bundle.read("data/support.json"))["data"] == {"tickets": [{"id": 7}]}
            assert json.loads(bundle.read("data/orders.json"))["data"] == {"orders": [{"id": "o-1"}]}

        support.answer_completed()
        erasure = httpx.post(
            server.url + "/v1/dsr", json={"type": "erasure", "subject_id": subject_id}, headers=shop
        )
        assert erasure.status_code == 202, erasure.text
        erased = wait_for_end(server, erasure.json()["id"], shop)
        assert erased["status"] == "completed"
        kept = next(task for task in erased["tasks"] if task["system"] == "orders")["retained"]
        assert kept == [{"category": "invoices", "reason": "AO §147", "until": "2034-12-31"}]
        assert orders.rejections == []
        assert support.rejections == []
        again = httpx.post(
            server.url + "/v1/auth/login",
            json={"email": "ada@example.com", "password": CUSTOMER_PASSWORD},
            headers=shop,
        )
        assert again.status_code == 401
    assert "ada@example.com" not in server.log()


def test_a_broken_policy_file_stops_start_up_naming_its_file_and_line(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shipped = Path(__file__).parents[2] / "policies"
    policies.mkdir()
    for source in shipped.glob("*.yaml"):
        (policies / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    broken = (
        (policies / "jurisdictions.yaml")
        .read_text(encoding="utf-8")
        .replace("deadline: 1 month", "deadline: one moon", 1)
    )
    (policies / "jurisdictions.yaml").write_text(broken, encoding="utf-8")
    line = next(n for n, text in enumerate(broken.splitlines(), start=1) if "one moon" in text)
    env = service_environment(tmp_path / "data", PRIVACY_POLICIES_DIR=str(policies))

    for command in (["serve", "--port", "0"], ["worker"]):
        result = run_cli(*command, env=env, timeout=30)
        assert result.returncode == 2, result.stderr
        assert f"jurisdictions.yaml:{line}:" in result.stderr
        assert "Traceback" not in result.stderr


def download(url: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes, Exception | None]:
    """The answer, the bytes that arrived, and how the connection broke if it did."""
    received = bytearray()
    with httpx.stream("GET", url, headers=headers, timeout=30) as answer:
        try:
            for chunk in answer.iter_raw():
                received += chunk
        except httpx.TransportError as broken:
            return answer, bytes(received), broken
    return answer, bytes(received), None


def test_a_client_downloading_a_bundle_with_an_altered_segment_sees_the_connection_break_short(
    operator: dict[str, str], server: LiveServer, service_engine: Engine
) -> None:
    shop = client_headers(server, cli_json(operator, "clients", "create", "--name", "shop", "--scopes",
                                           "auth:login users:write dsr:write"))  # fmt: skip
    admin = admin_headers(server, operator, shop)
    with FakeDownstream(name="orders", check_timestamp=True) as orders:
        orders.answer_completed(
            {"orders": [{"id": f"o-{n}", "note": secrets.token_hex(120)} for n in range(10_000)]}
        )
        registered = httpx.post(
            server.url + "/v1/systems",
            json={"name": "orders", "url": orders.url, "secret": orders.secret,
                  "request_types": ["access"], "categories": ["orders"]},
            headers=admin,
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
        httpx.post(
            server.url + "/v1/users",
            json={"email": "ada@example.com", "password": CUSTOMER_PASSWORD, "country": "DE"},
            headers=shop,
        )
        customer = bearer(
            httpx.post(
                server.url + "/v1/auth/login",
                json={"email": "ada@example.com", "password": CUSTOMER_PASSWORD},
                headers=shop,
            ).json()["access_token"]
        )
        request_id = httpx.post(server.url + "/v1/dsr", json={"type": "access"}, headers=customer).json()[
            "id"
        ]
        assert wait_for_end(server, request_id, customer)["status"] == "completed"

    url = f"{server.url}/v1/dsr/{request_id}/export"
    answer, whole, broken = download(url, customer)
    assert broken is None
    assert answer.status_code == 200
    assert int(answer.headers["content-length"]) == len(whole)
    assert answer.headers["digest"] == f"sha-256={hashlib.sha256(whole).hexdigest()}"

    with service_engine.begin() as connection:  # an attacker with the database flips one bit of segment 2
        sealed = connection.execute(
            text("SELECT ciphertext FROM dsr_export_segments WHERE request_id = :id AND seq = 2"),
            {"id": request_id},
        ).scalar_one()
        connection.execute(
            text("UPDATE dsr_export_segments SET ciphertext = :sealed WHERE request_id = :id AND seq = 2"),
            {"id": request_id, "sealed": bytes(sealed[:-1]) + bytes([sealed[-1] ^ 1])},
        )

    answer, cut, broken = download(url, customer)
    assert answer.status_code == 200, "the headers went out before segment 2 was reached"
    assert isinstance(broken, httpx.RemoteProtocolError), "the server broke the connection"
    assert len(cut) < int(answer.headers["content-length"])
    assert whole.startswith(cut), "nothing but verified bytes, as sealed"
    assert len(cut) <= 2 * 256 * 1024
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(cut))
    assert "a segment of an export bundle did not verify" in server.log()
