"""Which policies directory the service reads: the setting, else the checkout's policies/."""

from __future__ import annotations

from pathlib import Path

from privacy_service.core.config import Settings

CHECKOUT_POLICIES = Path(__file__).resolve().parents[3] / "policies"


def test_a_checkout_reads_its_own_policies_directory() -> None:
    assert Settings(_env_file=None).effective_policies_dir == CHECKOUT_POLICIES


def test_the_setting_wins(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, policies_dir=tmp_path)
    assert settings.effective_policies_dir == tmp_path
