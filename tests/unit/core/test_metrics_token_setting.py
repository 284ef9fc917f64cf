"""PRIVACY_METRICS_TOKEN: optional, and refused when it is too short to be unguessable or unsendable."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_service.core.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts with no PRIVACY_ variables and no .env in the working directory."""
    import os

    for key in list(os.environ):
        if key.startswith("PRIVACY_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_without_a_metrics_token_none_is_set() -> None:
    assert load_settings().metrics_token is None


def test_an_empty_metrics_token_counts_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_METRICS_TOKEN", "")
    assert load_settings().metrics_token is None


def test_a_long_random_metrics_token_is_kept_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "9f1c0e8a7b6d5c4e3f2a1b0c9d8e7f6a"
    monkeypatch.setenv("PRIVACY_METRICS_TOKEN", token)
    settings = load_settings()
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == token
    assert token not in repr(settings)


def test_a_short_metrics_token_stops_start_up_naming_the_variable_but_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIVACY_METRICS_TOKEN", "letmein-123")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    [problem] = raised.value.problems
    assert problem.startswith("PRIVACY_METRICS_TOKEN: ")
    assert "16 characters" in problem
    assert "letmein" not in str(raised.value)


def test_a_metrics_token_that_cannot_be_sent_as_a_bearer_token_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIVACY_METRICS_TOKEN", "a token with spaces in it")
    with pytest.raises(SettingsError, match="PRIVACY_METRICS_TOKEN"):
        load_settings()
