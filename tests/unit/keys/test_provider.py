from __future__ import annotations

import os
from pathlib import Path

import pytest

from privacy_service.core.config import SettingsError, load_settings
from privacy_service.crypto import EnvironmentKeys, LocalKeyFile, encode_key, generate_key
from privacy_service.keys.provider import key_provider_for


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("PRIVACY_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_the_embedded_default_is_a_key_file_in_the_data_dir(tmp_path: Path) -> None:
    provider = key_provider_for(load_settings(data_dir=tmp_path))
    assert isinstance(provider, LocalKeyFile)
    assert provider.path == tmp_path / "keys.json"


def test_the_environment_provider_needs_all_three_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_KEY_PROVIDER", "environment")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    names = sorted(problem.split(":")[0] for problem in raised.value.problems)
    assert names == ["PRIVACY_BLIND_INDEX_KEY", "PRIVACY_KEKS", "PRIVACY_PEPPER_KEY"]


def test_keys_from_the_environment_are_used_with_the_highest_version_current(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIVACY_KEY_PROVIDER", "environment")
    monkeypatch.setenv("PRIVACY_KEKS", f"1:{encode_key(generate_key())}, 2:{encode_key(generate_key())}")
    monkeypatch.setenv("PRIVACY_BLIND_INDEX_KEY", encode_key(generate_key()))
    monkeypatch.setenv("PRIVACY_PEPPER_KEY", encode_key(generate_key()))
    provider = key_provider_for(load_settings())
    assert isinstance(provider, EnvironmentKeys)
    assert provider.versions() == (1, 2)
    assert provider.current_version() == 2


@pytest.mark.parametrize("keks", ["changeme", "one:abc", "0:abc", "1:"])
def test_a_malformed_kek_list_names_the_setting(monkeypatch: pytest.MonkeyPatch, keks: str) -> None:
    monkeypatch.setenv("PRIVACY_KEKS", keks)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert raised.value.problems[0].startswith("PRIVACY_KEKS: ")
    assert "changeme" not in str(raised.value)


def test_placeholder_key_material_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_KEY_PROVIDER", "environment")
    monkeypatch.setenv("PRIVACY_KEKS", "1:Y2hhbmdlbWU=")  # base64 of "changeme": not a 32-byte key
    monkeypatch.setenv("PRIVACY_BLIND_INDEX_KEY", encode_key(generate_key()))
    monkeypatch.setenv("PRIVACY_PEPPER_KEY", encode_key(generate_key()))
    with pytest.raises(SettingsError) as raised:
        key_provider_for(load_settings())
    assert "PRIVACY_KEKS" in str(raised.value)
    assert "Y2hhbmdlbWU=" not in str(raised.value)
