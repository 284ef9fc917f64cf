"""`privacy-service audit verify` against a real database, intact and tampered."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, PartyType
from privacy_service.audit.checkpoints import CheckpointCadence, ensure_signing_key, write_checkpoint
from privacy_service.audit.models import AuditEvent
from privacy_service.audit.recorder import record
from privacy_service.audit.sealer import seal_pending_events
from privacy_service.core.clock import SystemClock
from privacy_service.core.db import create_session_factory
from privacy_service.crypto import LocalKeyFile
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.service import Keyring
from privacy_service.work import Workplace
from tests.e2e.conftest import run_cli, service_environment
from tests.unit.audit.tampering import drop_guards

pytestmark = pytest.mark.e2e


@pytest.fixture
def trail(tmp_path: Path, server_database: str, service_engine: Engine) -> tuple[dict[str, str], Engine]:
    """A migrated database holding five sealed, checkpointed events."""
    data_dir, engine = tmp_path / "data", service_engine
    provider = LocalKeyFile.open_or_create(data_dir / "keys.json")
    clock = SystemClock()
    workplace = Workplace(
        sessions=create_session_factory(engine),
        clock=clock,
        keyring=Keyring(provider=provider, clock=clock, cache=DataKeyCache(max_entries=0, ttl_seconds=0)),
    )
    with workplace.open() as work:
        for number in range(5):
            record(
                work,
                actor=SYSTEM,
                action=Action.KEY_ROTATE,
                target=Party(type=PartyType.SYSTEM, id=f"kek-{number}"),
                outcome=Outcome.SUCCESS,
            )
    with workplace.open() as work:
        seal_pending_events(work)
    with workplace.open() as work:
        ensure_signing_key(work, provider=provider)
        write_checkpoint(work, provider=provider, cadence=CheckpointCadence(), force=True)
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
    with create_session_factory(engine).begin() as session:
        drop_guards(session)
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(action=Action.AUDIT_READ.value))
    engine.dispose()
    code, report = verify(env)
    assert code == 1
    assert report["ok"] is False
    assert report["first_bad_seq"] == 3
    assert report["problem"] == "altered"


def test_archive_then_verify_the_rest_and_the_archive_file(
    trail: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    env, engine = trail
    engine.dispose()
    archive_file = tmp_path / "audit-archive-1.jsonl"
    tomorrow = (SystemClock().now() + timedelta(days=1)).strftime("%Y-%m-%d")
    archived = run_cli("audit", "archive", "--before", tomorrow, "--to", str(archive_file), "--json", env=env)
    assert archived.returncode == 0, archived.stderr
    assert json.loads(archived.stdout)["through_seq"] == 5
    assert not archive_file.with_name(archive_file.name + ".partial").exists()

    code, report = verify(env)
    assert code == 0
    assert (report["ok"], report["events_checked"], report["archived_through"]) == (True, 0, 5)
    checked = run_cli("audit", "verify-archive", str(archive_file), env=env)
    assert checked.returncode == 0, checked.stderr
    assert "5 events" in checked.stdout

    lines = archive_file.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace('"outcome":"success"', '"outcome":"failure"')
    archive_file.write_text("".join(lines), encoding="utf-8")
    tampered = run_cli("audit", "verify-archive", str(archive_file), "--json", env=env)
    assert tampered.returncode == 1
    assert json.loads(tampered.stdout) == {"ok": False, "problem": "altered", "line": 3}


def test_archive_needs_a_cut_off_and_never_overwrites(
    trail: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    env, engine = trail
    engine.dispose()
    existing = tmp_path / "exists.jsonl"
    existing.write_text("keep me", encoding="utf-8")
    without_cut_off = run_cli("audit", "archive", "--to", str(tmp_path / "new.jsonl"), env=env)
    assert without_cut_off.returncode == 2
    assert "PRIVACY_AUDIT_RETENTION_DAYS" in without_cut_off.stderr
    over = run_cli("audit", "archive", "--before", "2000-01-01", "--to", str(existing), env=env)
    assert over.returncode == 2
    assert existing.read_text(encoding="utf-8") == "keep me"
    nothing = run_cli(
        "audit",
        "archive",
        "--to",
        str(tmp_path / "none.jsonl"),
        env={**env, "PRIVACY_AUDIT_RETENTION_DAYS": "30"},
    )
    assert nothing.returncode == 0, nothing.stderr
    assert "nothing to archive" in nothing.stdout
    assert not (tmp_path / "none.jsonl").exists()
