"""`privacy-service keys status` and `keys rotate`, run as an operator would, against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from privacy_service.core.clock import FrozenClock
from privacy_service.core.db import create_engine_for, create_session_factory
from privacy_service.crypto import LocalKeyFile
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.fields import SubjectFields
from privacy_service.keys.service import Keyring
from tests.conftest import make_settings
from tests.e2e.conftest import run_cli, service_environment

pytestmark = pytest.mark.e2e

SUBJECTS = [f"subject-{n}" for n in range(7)]


def open_keyring(data_dir: Path) -> Keyring:
    return Keyring(
        provider=LocalKeyFile.open_or_create(data_dir / "keys.json"),
        clock=FrozenClock(),
        cache=DataKeyCache(max_entries=0, ttl_seconds=0),
    )


@pytest.fixture
def operator_env(tmp_path: Path, server_database: str, service_engine: Engine) -> dict[str, str]:
    """A data directory with a migrated database holding a few subjects' keys and encrypted values."""
    data_dir = tmp_path / "data"
    keyring = open_keyring(data_dir)
    ciphertexts = {}
    with create_session_factory(service_engine).begin() as session:
        for subject in SUBJECTS:
            key = keyring.create(session=session, subject_id=subject)
            ciphertexts[subject] = SubjectFields(key=key, table="profiles", subject_id=subject).encrypt(
                "email", subject
            )
    (tmp_path / "ciphertexts.json").write_text(json.dumps({s: v.hex() for s, v in ciphertexts.items() if v}))
    return service_environment(data_dir, server_database)


def status(env: dict[str, str]) -> dict[int, tuple[int, bool]]:
    result = run_cli("keys", "status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {
        row["kek_version"]: (row["data_keys"], row["current"])
        for row in json.loads(result.stdout)["versions"]
    }


def test_status_shows_each_version_and_the_keys_it_wraps(operator_env: dict[str, str]) -> None:
    assert status(operator_env) == {1: (len(SUBJECTS), True)}


def test_rotate_adds_a_version_and_rewraps_every_key_online(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli("keys", "rotate", "--batch-size", "3", env=operator_env)
    assert result.returncode == 0, result.stderr
    assert "added KEK version 2" in result.stdout
    assert status(operator_env) == {1: (0, False), 2: (len(SUBJECTS), True)}

    data_dir = Path(operator_env["PRIVACY_DATA_DIR"])
    url = operator_env.get("PRIVACY_DATABASE_URL") or f"sqlite:///{data_dir / 'privacy.db'}"
    engine = create_engine_for(make_settings(data_dir), database_url=url)
    keyring = open_keyring(data_dir)
    ciphertexts = json.loads((tmp_path / "ciphertexts.json").read_text())
    with create_session_factory(engine).begin() as session:
        for subject, ciphertext in ciphertexts.items():
            key = keyring.for_subject(session=session, subject_id=subject)
            fields = SubjectFields(key=key, table="profiles", subject_id=subject)
            assert fields.open("email", bytes.fromhex(ciphertext)) == subject
    engine.dispose()


def test_a_key_file_others_can_read_is_refused(operator_env: dict[str, str]) -> None:
    key_file = Path(operator_env["PRIVACY_DATA_DIR"]) / "keys.json"
    key_file.chmod(0o644)
    result = run_cli("keys", "status", env=operator_env)
    assert result.returncode == 1
    assert "cannot open the keys" in result.stderr
    assert "Traceback" not in result.stderr
