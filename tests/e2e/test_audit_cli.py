"""`privacy-service audit verify` against a real database, intact and tampered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, PartyType
from privacy_service.audit.checkpoints import CheckpointCadence, ensure_signing_key, write_checkpoint
from privacy_service.audit.models import AuditEvent
from privacy_service.audit.recorder import record
from privacy_service.audit.sealer import seal_pending_events
from privacy_service.core import migrations
from privacy_service.core.clock import SystemClock
from privacy_service.core.db import create_engine_for, create_session_factory, unit_of_work
from privacy_service.crypto import LocalKeyFile
from tests.conftest import make_settings
from tests.e2e.conftest import run_cli, service_environment
from tests.unit.audit.tampering import drop_guards

pytestmark = pytest.mark.e2e


@pytest.fixture
def trail(tmp_path: Path, server_database: str) -> tuple[dict[str, str], Engine]:
    """A migrated database holding five sealed, checkpointed events."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700, exist_ok=True)
    url = f"sqlite:///{data_dir / 'privacy.db'}" if server_database.startswith("sqlite") else server_database
    engine = create_engine_for(make_settings(data_dir), database_url=url)
    migrations.upgrade(engine)
    provider = LocalKeyFile.open_or_create(data_dir / "keys.json")
    clock = SystemClock()
    sessions = create_session_factory(engine)
    with unit_of_work(sessions) as session:
        for number in range(5):
            record(
                session=session,
                clock=clock,
                actor=SYSTEM,
                action=Action.KEY_ROTATE,
                target=Party(type=PartyType.SYSTEM, id=f"kek-{number}"),
                outcome=Outcome.SUCCESS,
            )
    with unit_of_work(sessions) as session:
        seal_pending_events(session=session, clock=clock)
    with unit_of_work(sessions) as session:
        ensure_signing_key(session=session, provider=provider, clock=clock)
        write_checkpoint(
            session=session, clock=clock, provider=provider, cadence=CheckpointCadence(), force=True
        )
    return service_environment(data_dir, server_database), engine


def verify(env: dict[str, str]) -> tuple[int, dict[str, object]]:
    result = run_cli("audit", "verify", "--json", env=env)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def test_an_intact_trail_verifies(trail: tuple[dict[str, str], Engine]) -> None:
    env, engine = trail
    code, report = verify(env)
    engine.dispose()
    assert code == 0
    assert report["ok"] is True
    assert report["events_checked"] == 5
    assert report["last_checkpoint"] is not None


def test_an_altered_event_is_reported_by_seq_and_exits_non_zero(trail: tuple[dict[str, str], Engine]) -> None:
    env, engine = trail
    with unit_of_work(create_session_factory(engine)) as session:
        drop_guards(session)
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(action=Action.AUDIT_READ.value))
    engine.dispose()
    code, report = verify(env)
    assert code == 1
    assert report["ok"] is False
    assert report["first_bad_seq"] == 3
    assert report["problem"] == "altered"
