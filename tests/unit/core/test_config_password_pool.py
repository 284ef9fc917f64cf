"""The password pool's settings: its wait budget and hard cap are validated, never silently defaulted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from privacy_service.core.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts with no PRIVACY_ variables and no .env in the working directory."""
    for key in list(os.environ):
        if key.startswith("PRIVACY_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_by_default_a_login_waits_up_to_two_seconds_and_the_pool_sizes_itself() -> None:
    settings = load_settings()

    assert settings.password_pool_wait_seconds == 2.0
    assert (settings.password_pool_workers, settings.password_pool_queue) == (None, None)


def test_the_wait_budget_and_the_hard_cap_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIVACY_PASSWORD_POOL_WAIT_SECONDS", "0.5")
    monkeypatch.setenv("PRIVACY_PASSWORD_POOL_QUEUE", "100")

    settings = load_settings()

    assert (settings.password_pool_wait_seconds, settings.password_pool_queue) == (0.5, 100)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRIVACY_PASSWORD_POOL_WAIT_SECONDS", "0"),
        ("PRIVACY_PASSWORD_POOL_WAIT_SECONDS", "-1"),
        ("PRIVACY_PASSWORD_POOL_WAIT_SECONDS", "61"),
        ("PRIVACY_PASSWORD_POOL_WAIT_SECONDS", "nan"),
        ("PRIVACY_PASSWORD_POOL_WAIT_SECONDS", "inf"),
        ("PRIVACY_PASSWORD_POOL_WAIT_SECONDS", "soon"),
        ("PRIVACY_PASSWORD_POOL_QUEUE", "-1"),
        ("PRIVACY_PASSWORD_POOL_QUEUE", "100001"),
        ("PRIVACY_PASSWORD_POOL_QUEUE", "many"),
        ("PRIVACY_PASSWORD_POOL_WORKERS", "0"),
    ],
)
def test_an_invalid_password_pool_setting_stops_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    (problem,) = raised.value.problems
    assert problem.startswith(f"{name}: ")
