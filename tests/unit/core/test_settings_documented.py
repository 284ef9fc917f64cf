"""Every setting the service reads is in the README's configuration table."""

from __future__ import annotations

from pathlib import Path

from privacy_service.core.config import ENV_PREFIX, Settings

README = Path(__file__).resolve().parents[3] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        ENV_PREFIX + name.upper()
        for name in Settings.model_fields
        if f"`{ENV_PREFIX}{name.upper()}`" not in text
    ]
    assert missing == [], f"add these settings to the README's configuration table: {missing}"
