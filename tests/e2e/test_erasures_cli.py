"""`privacy-service erasures replay`, run as an operator would after restoring a backup."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from privacy_service.core import migrations
from privacy_service.core.clock import FrozenClock
from privacy_service.core.db import create_engine_for, create_session_factory
from privacy_service.crypto import LocalKeyFile
from privacy_service.dsr.erasure import ErasureEntry
from privacy_service.dsr.fulfilment import erased_subject_index
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.models import SubjectKey
from privacy_service.keys.service import Keyring
from privacy_service.vault import service as vault
from privacy_service.vault.lookup import email_index
from privacy_service.vault.models import Subject
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Workplace
from tests.conftest import make_settings
from tests.e2e.conftest import run_cli, service_environment

pytestmark = pytest.mark.e2e

ERASED_AT = datetime(2026, 1, 10, 9, tzinfo=UTC)


@pytest.fixture
def operator_env(tmp_path: Path, server_database: str) -> dict[str, str]:
    """A data directory with a migrated database, and no erasure in it yet."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700, exist_ok=True)
    env = service_environment(data_dir, server_database)
    migrated = run_cli("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    return env


def database_url(env: dict[str, str]) -> str:
    return env.get("PRIVACY_DATABASE_URL") or f"sqlite:///{Path(env['PRIVACY_DATA_DIR']) / 'privacy.db'}"


def replay(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = run_cli("erasures", "replay", *args, env=env)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout, result.stderr


def test_replay_on_a_database_with_no_erasure_reports_nothing_to_do(operator_env: dict[str, str]) -> None:
    code, out, err = replay(operator_env, "--since", "2026-01-01", "--json")
    assert code == 0, err
    assert json.loads(out) == {"entries": 0, "erased": 0}

    code, out, err = replay(operator_env, "--since", "2026-01-01T00:00:00+01:00")
    assert code == 0, err
    assert (
        out.strip() == "0 erasures since 2026-01-01T00:00:00+01:00: 0 subjects were back and are erased again"
    )


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", ""])
def test_a_since_that_is_not_a_date_is_a_usage_error(operator_env: dict[str, str], since: str) -> None:
    code, out, err = replay(operator_env, "--since", since, "--json")
    assert code == 2
    assert out == ""
    assert f"--since {since!r} is not a date" in err


def test_since_is_required(operator_env: dict[str, str]) -> None:
    code, _out, err = replay(operator_env, "--json")
    assert code == 2
    assert "--since" in err


def test_a_journal_with_a_bad_line_fails_naming_the_file_and_line(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    journal = tmp_path / "restored-journal.jsonl"
    good = ErasureEntry(erased_at=ERASED_AT, subject_digest=b"\x01" * 32, email_digest=None).to_line()
    journal.write_text(f"{good}\n{good}\n{{not json\n", encoding="utf-8")

    code, out, err = replay(operator_env, "--since", "2026-01-01", "--journal", str(journal), "--json")

    assert code == 1
    assert out == ""
    assert f"{journal}:3" in err


def test_a_missing_journal_is_skipped(operator_env: dict[str, str], tmp_path: Path) -> None:
    absent = tmp_path / "no-such-journal.jsonl"
    code, out, err = replay(operator_env, "--since", "2026-01-01", "--journal", str(absent), "--json")
    assert code == 0, err
    assert json.loads(out) == {"entries": 0, "erased": 0}


def test_a_subject_the_journal_names_is_erased_again_and_others_are_left_alone(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = Path(operator_env["PRIVACY_DATA_DIR"])
    engine = create_engine_for(make_settings(data_dir), database_url=database_url(operator_env))
    migrations.ensure_current(engine)
    provider = LocalKeyFile.open_or_create(data_dir / "keys.json")
    clock = FrozenClock()
    keyring = Keyring(provider=provider, clock=clock, cache=DataKeyCache(max_entries=0, ttl_seconds=0))
    sessions = create_session_factory(engine)
    workplace = Workplace(sessions=sessions, clock=clock, keyring=keyring)
    with workplace.open() as work:  # what a restored backup brought back
        ids = [
            vault.create_subject(work, blind_index=email_index(provider),
                                 profile=ProfileFields(email=email)).id
            for email in ("restored@example.net", "bystander@example.net")
        ]  # fmt: skip
    restored, bystander = ids
    journal = tmp_path / "journal.jsonl"
    digest = erased_subject_index(keyring).digest(restored)
    journal.write_text(
        ErasureEntry(erased_at=ERASED_AT, subject_digest=digest, email_digest=None).to_line() + "\n"
    )

    code, out, err = replay(operator_env, "--since", "2026-01-01", "--journal", str(journal), "--json")
    assert code == 0, err
    assert json.loads(out) == {"entries": 1, "erased": 1}
    code, out, err = replay(operator_env, "--since", "2026-01-01", "--journal", str(journal), "--json")
    assert json.loads(out) == {"entries": 1, "erased": 0}, "a second replay finds nobody left"
    code, out, err = replay(operator_env, "--since", "2026-01-11", "--journal", str(journal), "--json")
    assert json.loads(out) == {"entries": 0, "erased": 0}, "an erasure before --since is not replayed"

    with sessions() as session:
        keys = {key.subject_id: key for key in session.scalars(select(SubjectKey))}
        assert keys[restored].wrapped is None
        assert keys[restored].destroyed_at is not None
        assert keys[bystander].wrapped is not None
        assert set(session.scalars(select(Subject.id))) == {bystander}
    engine.dispose()
