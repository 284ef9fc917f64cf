"""A small, valid policies directory per test, which each sad-path test breaks in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.policy.samples import JURISDICTIONS, RETENTION, SYSTEMS, PolicyDir


@pytest.fixture
def policy_dir(tmp_path: Path) -> PolicyDir:
    """Write the three files, replacing any given by keyword (jurisdictions=, retention=, systems=)."""

    def write(**files: str) -> Path:
        directory = tmp_path / "policies"
        directory.mkdir(exist_ok=True)
        texts = {"jurisdictions": JURISDICTIONS, "retention": RETENTION, "systems": SYSTEMS, **files}
        for name, text in texts.items():
            (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
        return directory

    return write
