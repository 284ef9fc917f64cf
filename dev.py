#!/usr/bin/env python3
"""Developer entry point that needs nothing but Python 3.11+.

    python3 dev.py serve [serve options]   run the service on the embedded SQLite default
    python3 dev.py test [pytest options]   run the test suite (PostgreSQL too when
                                           PRIVACY_TEST_DATABASE_URL is set)
    python3 dev.py check                   ruff, mypy --strict, import-linter contracts
    python3 dev.py openapi                 regenerate openapi/openapi.json
    python3 dev.py messages                merge the pages' message ids into every language's catalogue

The first run creates ``.venv`` and installs the project into it; later runs
reinstall only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 -- this script must explain itself on old Pythons
        sys.exit("privacy-service needs Python 3.11 or newer")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print("creating .venv ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing privacy-service and its development tools into .venv ...", file=sys.stderr)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f"{ROOT}[dev]"],
        check=True,
    )
    STAMP.write_text(wanted)


def run(*command: str) -> int:
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    task, rest = argv[0], argv[1:]
    ensure_environment()
    if task == "serve":
        return run(str(BIN / "privacy-service"), "serve", *rest)
    if task == "test":
        return run(str(PYTHON), "-m", "pytest", *rest)
    if task == "check":
        for command in (
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "ruff"), "format", "--check", "."],
            [str(BIN / "mypy")],
            [str(BIN / "lint-imports")],
        ):
            print("$", Path(command[0]).name, *command[1:], file=sys.stderr)
            code = run(*command)
            if code != 0:
                return code
        return 0
    if task == "openapi":
        generated = subprocess.run(
            [str(BIN / "privacy-service"), "openapi"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        (ROOT / "openapi" / "openapi.json").write_text(generated, encoding="utf-8")
        return 0
    if task == "messages":
        return run(
            str(PYTHON),
            "-c",
            "from privacy_service.web.catalogues import update_catalogues; update_catalogues()",
        )
    print(f"unknown task {task!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
