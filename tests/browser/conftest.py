"""The pages in a real browser: Playwright driving Debian's Chromium against the real server.

Playwright cannot download its own browser here, so these tests use
``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it).
Without it they are skipped, unless ``PRIVACY_TEST_BROWSER=required`` (set by
``.ci/run``), where a missing browser fails the run instead of hiding it.

Each test page is checked with axe-core (``axe-playwright-python``): no serious
or critical WCAG violation. Screenshots go to ``docs/screenshots/`` when
``PRIVACY_TEST_SCREENSHOTS`` names that directory (the README shows them), and
to the test's temporary directory otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The real server's database fixtures, shared with the end-to-end tests.
from tests.e2e.conftest import LiveServer, server_database, service_engine, start_server  # noqa: F401

CHROMIUM = os.environ.get("PRIVACY_TEST_CHROMIUM", "/usr/bin/chromium")
# As the machine's notes advise: no background traffic to hosts this network cannot reach.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _browser_missing()
    if missing is None or os.environ.get("PRIVACY_TEST_BROWSER") == "required":
        return  # where required, a missing browser fails each test at its first step
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=missing))


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("PRIVACY_TEST_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def server(operator: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    """The real server with its worker, on the ``operator`` environment each test module sets up."""
    live = start_server(operator, tmp_path / "server.log")
    yield live
    live.stop()
