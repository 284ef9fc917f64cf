"""The CI's coverage gate (``.ci/coverage_gate.py``) holds DESIGN.md's promise as it reads.

Every line and branch of ``crypto/``, ``keys/`` and ``identity/``; 90 % of each
other package, counted as coverage.py counts (lines and branches together).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

GATE_PATH = Path(__file__).resolve().parent.parent / ".ci" / "coverage_gate.py"


@pytest.fixture(scope="module")
def gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_gate", GATE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["coverage_gate"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def a_file(
    gate: ModuleType, path: str, *, lines: tuple[int, int], branches: tuple[int, int], **misses: Any
) -> Any:
    return gate.FileReport(
        path=path,
        covered_lines=lines[0],
        statements=lines[1],
        covered_branches=branches[0],
        branches=branches[1],
        missing_lines=misses.get("missing_lines", []),
        missing_branches=misses.get("missing_branches", []),
    )


def test_one_missed_branch_in_a_fully_covered_package_fails_naming_the_file_and_the_branch(
    gate: ModuleType,
) -> None:
    keys = gate.PackageReport("keys")
    keys.files += [
        a_file(gate, "privacy_service/keys/cache.py", lines=(40, 40), branches=(10, 10)),
        a_file(
            gate,
            "privacy_service/keys/service.py",
            lines=(99, 99),
            branches=(19, 20),
            missing_branches=[[177, -175]],
        ),
    ]

    assert keys.percent > 99
    assert keys.failures() == ["privacy_service/keys/service.py: branches 177->exit"]


def test_missed_lines_are_named_as_ranges(gate: ModuleType) -> None:
    crypto = gate.PackageReport("crypto")
    crypto.files.append(
        a_file(
            gate,
            "privacy_service/crypto/kek.py",
            lines=(6, 10),
            branches=(1, 2),
            missing_lines=[9, 3, 4, 5],
            missing_branches=[[8, 9]],
        )
    )

    assert crypto.failures() == ["privacy_service/crypto/kek.py: lines 3-5, 9; branches 8->9"]


def test_another_package_passes_at_90_percent_whatever_one_small_file_holds(gate: ModuleType) -> None:
    api = gate.PackageReport("api")
    api.files += [
        a_file(gate, "privacy_service/api/big.py", lines=(95, 95), branches=(0, 0)),
        a_file(
            gate, "privacy_service/api/small.py", lines=(0, 5), branches=(0, 0), missing_lines=[1, 2, 3, 4, 5]
        ),
    ]

    assert api.percent == pytest.approx(95.0)
    assert api.failures() == []


def test_another_package_under_90_percent_fails_naming_its_files_under_90(gate: ModuleType) -> None:
    core = gate.PackageReport("core")
    core.files += [
        a_file(gate, "privacy_service/core/db.py", lines=(80, 80), branches=(20, 20)),
        a_file(gate, "privacy_service/core/pg.py", lines=(30, 60), branches=(10, 40), missing_lines=[1]),
    ]

    assert core.percent == pytest.approx(70.0)
    assert core.failures() == ["privacy_service/core/pg.py: 40.0 %, lines 1"]
