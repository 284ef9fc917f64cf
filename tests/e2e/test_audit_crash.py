"""An event committed but not yet sealed survives the worker's death (``kill -9``) and is sealed on restart.

A real ``privacy-service worker`` process seals in small batches; it is killed
with SIGKILL while committed events still wait (some sealed, some not, and a
sealing transaction possibly in flight), more events are committed while no
worker runs, and a new worker then seals every one of them into a chain that
``privacy-service audit verify`` accepts.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, PartyType
from privacy_service.audit.models import AuditEvent
from privacy_service.audit.recorder import record
from privacy_service.core.clock import SystemClock
from privacy_service.core.db import create_session_factory
from privacy_service.crypto import LocalKeyFile
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.service import Keyring
from privacy_service.work import Workplace
from tests.e2e.conftest import WorkerProcess, run_cli, service_environment, start_worker

pytestmark = pytest.mark.e2e


class Trail:
    def __init__(self, engine: Engine, env: dict[str, str], log_dir: Path) -> None:
        self.engine = engine
        self.env = env
        self.log_dir = log_dir
        clock = SystemClock()
        provider = LocalKeyFile.open_or_create(Path(env["PRIVACY_DATA_DIR"]) / "keys.json")
        self.workplace = Workplace(
            sessions=create_session_factory(engine),
            clock=clock,
            keyring=Keyring(provider=provider, clock=clock, cache=DataKeyCache(max_entries=0, ttl_seconds=0)),
        )
        self.recorded = 0

    def record(self, count: int) -> None:
        """Commit ``count`` events, as the API's units of work do."""
        with self.workplace.open() as work:
            for _ in range(count):
                self.recorded += 1
                record(
                    work,
                    actor=SYSTEM,
                    action=Action.KEY_ROTATE,
                    target=Party(type=PartyType.SYSTEM, id=f"kek-{self.recorded}"),
                    outcome=Outcome.SUCCESS,
                )

    def count(self, *, sealed: bool) -> int:
        with Session(self.engine) as session:
            condition = AuditEvent.seq.is_not(None) if sealed else AuditEvent.seq.is_(None)
            return session.scalar(select(func.count()).select_from(AuditEvent).where(condition)) or 0

    def start_worker(self, name: str, **settings: str) -> WorkerProcess:
        return start_worker({**self.env, **settings}, self.log_dir / f"{name}.log")


@pytest.fixture
def trail(tmp_path: Path, server_database: str, service_engine: Engine) -> Trail:
    return Trail(service_engine, service_environment(tmp_path / "data", server_database), tmp_path)


def test_events_committed_before_a_kill_9_are_all_sealed_after_a_restart(trail: Trail) -> None:
    trail.record(300)
    # Small batches, so the worker is still sealing when it dies.
    first = trail.start_worker("first", PRIVACY_AUDIT_SEAL_BATCH="20", PRIVACY_WORKER_POLL_SECONDS="0.05")
    try:
        first.wait_for(lambda: trail.count(sealed=True) > 0, "a first sealed batch")
    finally:
        first.kill_9()
    assert first.process.returncode == -signal.SIGKILL
    trail.record(25)  # committed while no worker runs
    assert trail.count(sealed=False) > 0

    second = trail.start_worker("second", PRIVACY_WORKER_POLL_SECONDS="0.05")
    try:
        second.wait_for(lambda: trail.count(sealed=False) == 0, "every event to be sealed")
    finally:
        second.stop()
    assert trail.count(sealed=True) == trail.recorded == 325

    verified = run_cli("audit", "verify", "--json", env=trail.env)
    assert verified.returncode == 0, verified.stderr
    report = json.loads(verified.stdout)
    assert report["ok"] is True
    assert report["events_checked"] == 325
    assert report["last_seq"] == 325
