"""The real server, started as a subprocess on a free port, as an operator would run it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import scratch_database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_environment(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The parent's environment minus every PRIVACY_ setting, plus the ones given."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PRIVACY_")}
    environment["PRIVACY_DATA_DIR"] = str(data_dir)
    if database_url and not database_url.startswith("sqlite"):
        environment["PRIVACY_DATABASE_URL"] = database_url
    environment.update(extra)
    return environment


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "privacy_service", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class LiveServer:
    process: subprocess.Popen[str]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)


def start_server(env: dict[str, str], log_path: Path, *args: str) -> LiveServer:
    port = free_port()
    log_file = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "privacy_service", "serve", "--port", str(port), *args],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = LiveServer(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
    deadline = time.monotonic() + 90  # generous: CI machines are shared
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not answer within 90 s:\n{server.log()}")


@pytest.fixture
def server_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own for the server: an empty SQLite file, or a migrated scratch PostgreSQL."""
    with scratch_database(tmp_path) as url:
        if not url.startswith("sqlite"):
            migrated = run_cli("migrate", env=service_environment(tmp_path / "data", url))
            assert migrated.returncode == 0, migrated.stderr
        yield url


@pytest.fixture
def live_server(tmp_path: Path, server_database: str) -> Iterator[LiveServer]:
    env = service_environment(tmp_path / "data", server_database)
    server = start_server(env, tmp_path / "server.log")
    yield server
    server.stop()
