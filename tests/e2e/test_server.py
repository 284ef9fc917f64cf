"""The service as an operator runs it: a real process, real sockets, real signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import on_postgres, requires_postgres, scratch_database
from tests.e2e.conftest import LiveServer, run_cli, service_environment, start_server

pytestmark = pytest.mark.e2e


def test_the_server_answers_health_and_problems(live_server: LiveServer) -> None:
    assert httpx.get(live_server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(live_server.url + "/readyz").status_code == 200
    missing = httpx.get(live_server.url + "/no/such/path")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"


def test_a_20_mib_upload_is_refused_with_413_without_being_read(live_server: LiveServer) -> None:
    body = b"{" + b" " * (20 * 1024 * 1024) + b"}"
    try:
        response = httpx.post(
            live_server.url + "/healthz",
            content=body,
            headers={"content-type": "application/json"},
            timeout=30,
        )
    except httpx.TransportError:
        pytest.fail("the server dropped the connection instead of answering 413")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_log_lines_are_json_and_carry_the_request_id(live_server: LiveServer) -> None:
    httpx.get(live_server.url + "/healthz", headers={"X-Request-ID": "e2e-log-check"})
    live_server.stop()
    entries = [json.loads(line) for line in live_server.log().splitlines() if line.startswith("{")]
    access = [entry for entry in entries if entry.get("request_id") == "e2e-log-check"]
    assert access
    assert access[0]["path"] == "/healthz"
    assert access[0]["status"] == 200


def test_sigterm_stops_the_server_and_its_worker_cleanly(live_server: LiveServer) -> None:
    # Uvicorn drains in-flight requests; tests/unit/test_worker.py proves the worker finishes its job.
    live_server.process.send_signal(signal.SIGTERM)
    assert live_server.process.wait(30) == 0
    log = live_server.log()
    assert "worker stopped" in log
    assert "Application shutdown complete" in log
    assert "Traceback" not in log


def test_an_invalid_setting_stops_start_up_naming_it(tmp_path: Path) -> None:
    env = service_environment(tmp_path / "data", PRIVACY_MAX_BODY_BYTES="one megabyte", PRIVACY_TYPO="1")
    result = run_cli("serve", "--port", "1", env=env)
    assert result.returncode == 2
    assert "PRIVACY_MAX_BODY_BYTES" in result.stderr
    assert "PRIVACY_TYPO: unknown setting" in result.stderr
    assert "Traceback" not in result.stderr


@requires_postgres
def test_serve_refuses_an_out_of_date_postgresql_schema_and_says_what_to_run(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        result = run_cli("serve", "--port", "1", env=service_environment(tmp_path / "data", url))
    assert result.returncode == 1
    assert "run `privacy-service migrate`" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    env = service_environment(tmp_path / "data", "postgresql+psycopg://nobody:pw@127.0.0.1:1/none")
    result = run_cli("migrate", env=env)
    assert result.returncode == 1
    assert "database is not reachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pw@" not in result.stderr


def test_the_embedded_default_migrates_itself_on_first_run(tmp_path: Path) -> None:
    if on_postgres():
        pytest.skip("the embedded default is SQLite")
    server = start_server(service_environment(tmp_path / "data"), tmp_path / "server.log", "--no-worker")
    try:
        assert httpx.get(server.url + "/readyz").status_code == 200
    finally:
        assert server.stop() == 0
    assert (tmp_path / "data" / "privacy.db").exists()
    assert (tmp_path / "data").stat().st_mode & 0o077 == 0
    assert (tmp_path / "data" / "keys.json").stat().st_mode & 0o777 == 0o600  # keys generated on first run


def test_the_worker_runs_alone_and_stops_on_sigterm(tmp_path: Path, server_database: str) -> None:
    env = service_environment(tmp_path / "data", server_database)
    if server_database.startswith("sqlite"):
        assert run_cli("migrate", env=env).returncode == 0
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "privacy_service", "worker"], env=env, stderr=log, stdout=log, text=True
        )
        deadline = time.monotonic() + 30
        while "worker started" not in log_path.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.05)
        threading.Event().wait(1.5)  # let it seal and checkpoint at least once
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, log_path.read_text()
    output = log_path.read_text()
    assert "worker stopped" in output
    assert "Traceback" not in output
    assert "worker job failed" not in output


def test_the_module_and_the_console_script_are_the_same_command(tmp_path: Path) -> None:
    result = run_cli("--help", env=service_environment(tmp_path / "data"))
    assert result.returncode == 0
    for command in ("serve", "worker", "migrate", "openapi"):
        assert command in result.stdout
