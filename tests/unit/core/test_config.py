from __future__ import annotations

from pathlib import Path

import pytest

from privacy_service.core.config import MiB, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts with no PRIVACY_ variables and no .env in the working directory."""
    import os

    for key in list(os.environ):
        if key.startswith("PRIVACY_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_embedded_sqlite_service() -> None:
    settings = load_settings()
    assert settings.is_embedded
    assert settings.data_dir == Path("data")
    assert settings.effective_database_url.endswith("/data/privacy.db")
    assert settings.max_body_bytes == MiB
    assert (settings.delivery_retry_min_seconds, settings.delivery_retry_max_seconds) == (2.0, 3600.0)


def test_an_unknown_privacy_variable_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_DATABSE_URL", "postgresql+psycopg://x/y")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert raised.value.problems == ["PRIVACY_DATABSE_URL: unknown setting"]


def test_the_test_suites_own_variables_are_not_unknown_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_TEST_DATABASE_URL", "postgresql+psycopg://x/y")
    assert load_settings().is_embedded


def test_an_invalid_value_stops_start_up_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_MAX_BODY_BYTES", "lots")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    (problem,) = raised.value.problems
    assert problem.startswith("PRIVACY_MAX_BODY_BYTES: ")


@pytest.mark.parametrize(
    ("variable", "value", "minimum"),
    [("PRIVACY_ARGON2_TIME_COST", "1", "2"), ("PRIVACY_ARGON2_MEMORY_KIB", "8192", "19456")],
)
def test_argon2_below_owasps_minimum_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, minimum: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.problems == [f"{variable}: must be at least {minimum} (OWASP's minimum)"]

    monkeypatch.setenv("PRIVACY_ARGON2_INSECURE_FOR_TESTS", "true")
    assert load_settings()  # the test suite's cheap parameters, on purpose


def test_every_bad_setting_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_LOG_LEVEL", "LOUD")
    monkeypatch.setenv("PRIVACY_WORKER_POLL_SECONDS", "-1")
    monkeypatch.setenv("PRIVACY_NOPE", "1")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    names = sorted(problem.split(":", 1)[0] for problem in raised.value.problems)
    assert names == ["PRIVACY_LOG_LEVEL", "PRIVACY_NOPE", "PRIVACY_WORKER_POLL_SECONDS"]


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("postgresql+psycopg://app@db/privacy", True),
        ("sqlite:////var/lib/privacy/privacy.db", True),
        ("postgresql://app@db/privacy", False),  # psycopg2 would be picked: refuse
        ("mysql://app@db/privacy", False),
    ],
)
def test_database_urls_must_name_a_supported_driver(
    monkeypatch: pytest.MonkeyPatch, url: str, accepted: bool
) -> None:
    monkeypatch.setenv("PRIVACY_DATABASE_URL", url)
    if accepted:
        assert load_settings().database_url == url
    else:
        with pytest.raises(SettingsError, match="PRIVACY_DATABASE_URL"):
            load_settings()


def test_postgresql_is_not_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_DATABASE_URL", "postgresql+psycopg://app@db/privacy")
    settings = load_settings()
    assert not settings.is_embedded
    assert settings.effective_database_url == "postgresql+psycopg://app@db/privacy"


def test_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PRIVACY_PUBLIC_URL=https://privacy.example.com/\n")
    assert load_settings().public_url == "https://privacy.example.com"


def test_an_unknown_key_in_the_dotenv_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PRIVACY_PUBLIK_URL=https://privacy.example.com\n")
    with pytest.raises(SettingsError, match="PRIVACY_PUBLIK_URL: unknown setting"):
        load_settings()


def test_rate_limit_storage_must_be_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_RATE_LIMIT_URL", "memcached://cache:11211")
    with pytest.raises(SettingsError, match="PRIVACY_RATE_LIMIT_URL"):
        load_settings()


def test_public_url_must_be_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_PUBLIC_URL", "privacy.example.com")
    with pytest.raises(SettingsError, match="PRIVACY_PUBLIC_URL"):
        load_settings()


def test_the_first_retry_pause_cannot_exceed_the_longest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_DELIVERY_RETRY_MIN_SECONDS", "600")
    monkeypatch.setenv("PRIVACY_DELIVERY_RETRY_MAX_SECONDS", "60")
    with pytest.raises(SettingsError, match="PRIVACY_DELIVERY_RETRY_MIN_SECONDS"):
        load_settings()


def test_settings_are_immutable() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.max_body_bytes = 1  # type: ignore[misc]


@pytest.mark.parametrize("color", ["#777777", "#ffcc00", "#1d4ed8x", "blue"])
def test_an_accent_white_text_cannot_be_read_on_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, color: str
) -> None:
    monkeypatch.setenv("PRIVACY_SHOP_ACCENT_COLOR", color)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "PRIVACY_SHOP_ACCENT_COLOR" in str(raised.value)


def test_a_dark_enough_accent_and_an_image_logo_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_SHOP_ACCENT_COLOR", "#0b5e3b")
    monkeypatch.setenv("PRIVACY_SHOP_LOGO_FILE", "policies/logo.svg")
    settings = load_settings()
    assert settings.shop_accent_color == "#0b5e3b"
    monkeypatch.setenv("PRIVACY_SHOP_LOGO_FILE", "policies/logo.gif")
    with pytest.raises(SettingsError):
        load_settings()


def test_records_of_requests_are_kept_24_months_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().dsr_record_months == 24
    monkeypatch.setenv("PRIVACY_DSR_RECORD_MONTHS", "36")
    assert load_settings().dsr_record_months == 36


@pytest.mark.parametrize("months", ["23", "0", "-24"])
def test_keeping_records_of_requests_under_24_months_stops_start_up_saying_why(
    monkeypatch: pytest.MonkeyPatch, months: str
) -> None:
    monkeypatch.setenv("PRIVACY_DSR_RECORD_MONTHS", months)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    [problem] = refused.value.problems
    assert problem.startswith("PRIVACY_DSR_RECORD_MONTHS: ")
    assert "must be at least 24" in problem
    assert "§7101" in problem
