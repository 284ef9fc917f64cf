"""SECURITY.md stays true: every test it names as proof of a promise exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def named_tests() -> list[tuple[str, str | None]]:
    """(file, test name or None) for every `tests/...py[::name]` and following `::name` in SECURITY.md."""
    found: list[tuple[str, str | None]] = []
    current: str | None = None
    for match in re.finditer(
        r"`(tests/[\w/]+\.py|tests/[\w/]+/)(::\w+)?`|`::(\w+)`", (ROOT / "SECURITY.md").read_text()
    ):
        path, name, continued = match.groups()
        if path:
            current = path
            found.append((path, name[2:] if name else None))
        elif continued and current:
            found.append((current, continued))
    return found


def test_security_md_names_tests_that_exist() -> None:
    references = named_tests()
    assert len(references) > 20
    missing = []
    for path, name in references:
        target = ROOT / path
        if not target.exists():
            missing.append(path)
        elif name is not None and not re.search(rf"^def {name}\(", target.read_text(), re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert missing == [], f"SECURITY.md names tests that do not exist: {missing}"
