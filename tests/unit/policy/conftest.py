"""A small, valid policies directory per test, which each sad-path test breaks in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.policy.samples import (
    HOLIDAYS,
    JURISDICTIONS,
    PROCESSING,
    REMEDIES,
    RETENTION,
    SYSTEMS,
    PolicyDir,
)


@pytest.fixture
def policy_dir(tmp_path: Path) -> PolicyDir:
    """Write the six files, replacing any given by keyword (jurisdictions=, holidays=, processing=, ...)."""

    def write(**files: str) -> Path:
        directory = tmp_path / "policies"
        directory.mkdir(exist_ok=True)
        texts = {
            "jurisdictions": JURISDICTIONS,
            "holidays": HOLIDAYS,
            "retention": RETENTION,
            "systems": SYSTEMS,
            "processing": PROCESSING,
            "remedies": REMEDIES,
            **files,
        }
        for name, text in texts.items():
            (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
        return directory

    return write
