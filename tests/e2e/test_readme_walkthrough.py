"""The README's walkthrough, run as a new user would run it, so the README cannot drift from the service.

The fenced ``sh`` blocks between the README's ``<!-- walkthrough: ...`` and
``<!-- walkthrough ends -->`` comments run in order, in one ``bash -euo
pipefail``, in a directory that looks like a fresh checkout (the repository's
entries linked in, no ``data/``), with ``.venv/bin`` not on ``PATH``. Only the
two ports differ from a user's shell: ``PORT`` and ``RECEIVER_PORT``, which the
README's first block reads, name free ones. Afterwards the test checks what
the walkthrough promises: the export downloaded is a ZIP holding the
downstream system's data, the erasure completed there with its invoices kept
under a legal hold, the customer is gone, and the audit trail verifies.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import free_port

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]
BEGINS = "<!-- walkthrough:"
ENDS = "<!-- walkthrough ends -->"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Generous: a loaded CI machine may be slow; the walkthrough itself takes well under a minute.
PATIENCE_SECONDS = 300

# Appended to the README's blocks: the ids and tokens the walkthrough ended with, for the checks.
STATE_FILE = "walkthrough-state.json"
REPORT_STATE = f"""
.venv/bin/python -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \\
  url "$URL" subject_id "$SUBJECT_ID" access_id "$ACCESS_ID" erasure_id "$ERASURE_ID" \\
  shop_token "$SHOP_TOKEN" officer_token "$OFFICER_TOKEN" > {STATE_FILE}
"""


def walkthrough_blocks(readme: str) -> list[str]:
    """The ``sh`` blocks of the walkthrough section, in order."""
    start = readme.index(BEGINS)
    end = readme.index(ENDS, start)
    return SH_BLOCK.findall(readme[start:end])


@dataclass
class Walkthrough:
    checkout: Path
    output: str
    state: dict[str, str]

    def file(self, name: str) -> Path:
        return self.checkout / name

    def get(self, path: str, token: str) -> httpx.Response:
        return httpx.get(self.state["url"] + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def fresh_checkout(directory: Path) -> Path:
    """A directory that looks like a clone of this repository with its ``.venv``, and no ``data/`` yet.

    Entries are symbolic links, so what the walkthrough writes (its logs, the export, ``data/``)
    lands here and never in the repository; files a walkthrough run may have left in the
    repository itself are not linked.
    """
    directory.mkdir()
    for entry in REPOSITORY.iterdir():
        if entry.name in {".git", ".venv", "data"} or entry.suffix in {".log", ".zip", ".json"}:
            continue
        (directory / entry.name).symlink_to(entry)
    # The virtual environment this test runs in, whatever its directory is called.
    (directory / ".venv").symlink_to(Path(sys.prefix))
    return directory


def new_user_environment(**settings: str) -> dict[str, str]:
    """The test's environment as a user's shell has it: no PRIVACY_ setting, no virtual environment active."""
    venv_bin = str(Path(sys.prefix) / "bin")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PRIVACY_") and key not in {"VIRTUAL_ENV", "PYTHONHOME"}
    }
    environment["PATH"] = os.pathsep.join(
        entry for entry in environment.get("PATH", "").split(os.pathsep) if entry and entry != venv_bin
    )
    environment.update(settings)
    return environment


@pytest.fixture
def walkthrough(tmp_path: Path, server_database: str) -> Iterator[Walkthrough]:
    """The walkthrough run to its end; the service and the receiver it started still running."""
    checkout = fresh_checkout(tmp_path / "shop")
    settings = {"PORT": str(free_port()), "RECEIVER_PORT": str(free_port())}
    if not server_database.startswith("sqlite"):
        # On PostgreSQL an operator migrates first (README "Running in production"); the rest is the same.
        settings["PRIVACY_DATABASE_URL"] = server_database
        migrated = subprocess.run(
            [".venv/bin/privacy-service", "migrate"], cwd=checkout, env=new_user_environment(**settings),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    script = "\n".join([*walkthrough_blocks(readme), REPORT_STATE])
    output_path = tmp_path / "walkthrough.out"
    with output_path.open("w", encoding="utf-8") as output:
        # A session of its own: the background jobs it starts (service, receiver) share its process group.
        shell = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script], cwd=checkout, env=new_user_environment(**settings),
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        try:
            status = shell.wait(timeout=PATIENCE_SECONDS)
        except subprocess.TimeoutExpired:
            status = None
        transcript = output_path.read_text(encoding="utf-8", errors="replace")
        logs = "".join(
            f"\n--- {name}\n{(checkout / name).read_text(errors='replace')}"
            for name in ("service.log", "receiver.log")
            if (checkout / name).exists()
        )
        assert status == 0, f"the walkthrough stopped (exit {status}):\n{transcript}{logs}"
        state = json.loads((checkout / STATE_FILE).read_text(encoding="utf-8"))
        yield Walkthrough(checkout=checkout, output=transcript, state=state)
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing of the walkthrough is left running
            os.killpg(shell.pid, signal.SIGTERM)


def test_the_readme_has_a_walkthrough_of_shell_blocks_to_run() -> None:
    blocks = walkthrough_blocks((REPOSITORY / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    assert any("privacy-service serve" in block for block in blocks)
    assert any("examples/receiver.py" in block for block in blocks)


def test_the_readme_walkthrough_ends_with_an_export_an_erasure_at_the_receiver_and_a_verified_trail(
    walkthrough: Walkthrough,
) -> None:
    state = walkthrough.state

    with zipfile.ZipFile(walkthrough.file("export.zip")) as bundle:
        assert bundle.testzip() is None
        names = set(bundle.namelist())
        assert {"manifest.json", "summary.html", "data/orders.json"} <= names
        orders = json.loads(bundle.read("data/orders.json"))
    assert [order["number"] for order in orders["data"]["orders"]] == ["A-1001", "A-1002"]

    access = walkthrough.get(f"/v1/dsr/{state['access_id']}", state["officer_token"]).json()
    assert access["status"] == "completed", access
    erasure = walkthrough.get(f"/v1/dsr/{state['erasure_id']}", state["shop_token"]).json()
    assert erasure["status"] == "completed", erasure
    [task] = erasure["tasks"]
    assert task["system"] == "orders"
    assert task["status"] == "completed"
    assert [(item["category"], item["until"]) for item in task["retained"]] == [("invoices", "2034-12-31")]

    receiver_log = walkthrough.file("receiver.log").read_text(encoding="utf-8")
    assert re.search(r"dsr\.erasure task \S+: erased the subject's records; kept invoices", receiver_log)
    assert "callback answered 200" in receiver_log
    assert "ada@example.com" not in receiver_log

    subject = walkthrough.get(f"/v1/subjects/{state['subject_id']}/profile", state["officer_token"])
    assert subject.status_code == 410  # erased here too

    verified = walkthrough.get("/v1/audit/verify", state["officer_token"]).json()
    assert verified["ok"] is True, verified
    assert verified["first_bad_seq"] is None
    events: list[dict[str, Any]] = walkthrough.get(
        "/v1/audit/events?action=dsr_complete", state["officer_token"]
    ).json()["items"]
    assert {event["target"]["id"] for event in events} >= {state["access_id"], state["erasure_id"]}
    assert "ada@example.com" not in walkthrough.file("service.log").read_text(encoding="utf-8")
