"""The real server and worker, started as subprocesses, as an operator would run them.

A test that writes to the service's database itself (``service_engine``) and
then starts a worker on it (``start_worker``) sees the same rows as the worker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from privacy_service.core import migrations
from privacy_service.core.db import create_engine_for
from tests.conftest import make_settings, scratch_database

# Generous: a loaded machine may be slow; a test never asserts on time, it only stops waiting.
PATIENCE_SECONDS = 120


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


@dataclass
class WorkerProcess:
    """A running ``privacy-service worker``, its output in a log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition`` until it holds; fail if the worker exits first or patience runs out."""
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited ({self.process.returncode}) before {what}")
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}")
            time.sleep(0.02)

    def kill_9(self) -> None:
        """End the worker with SIGKILL, so no shutdown code of its own runs, and reap it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)


def start_worker(env: dict[str, str], log_path: Path) -> WorkerProcess:
    with log_path.open("wb") as log_file:  # the worker writes to its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "privacy_service", "worker"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return WorkerProcess(process=process, log_path=log_path)


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


@pytest.fixture
def operator(tmp_path: Path, server_database: str) -> dict[str, str]:
    """The environment an operator runs commands in, on a migrated database of the test's own."""
    env = service_environment(tmp_path / "data", server_database)
    assert run_cli("migrate", env=env).returncode == 0
    return env


@pytest.fixture
def server(operator: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    """The service on the operator's database, without its worker (tests that need it start their own)."""
    live = start_server(operator, tmp_path / "server.log", "--no-worker")
    yield live
    live.stop()


@pytest.fixture
def service_engine(tmp_path: Path, server_database: str) -> Iterator[Engine]:
    """The migrated database that the service's processes use, for the test to write and read directly.

    Those processes run with ``service_environment(tmp_path / "data", server_database)``;
    on SQLite that names no database URL, so they use the file in the data
    directory, not the scratch one.
    """
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700, exist_ok=True)
    url = f"sqlite:///{data_dir / 'privacy.db'}" if server_database.startswith("sqlite") else server_database
    engine = create_engine_for(make_settings(data_dir), database_url=url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()
