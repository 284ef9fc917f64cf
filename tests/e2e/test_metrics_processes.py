"""GET /metrics with several processes on one database: two API servers and a worker, as in production.

Each server counts only the requests it answered; both report the same
figures read from the database, the worker's sealing and checkpoints among
them, although neither runs that worker.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import LiveServer, service_environment, start_server, start_worker

pytestmark = pytest.mark.e2e

METRICS_TOKEN = "e2e-metrics-token-0123456789abcdef"
PATIENCE_SECONDS = 60

Figures = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: LiveServer) -> Figures:
    response = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_to(figures: Figures, route: str, status: str) -> float:
    return figures.get(
        ("privacy_http_requests_total", (("method", "GET"), ("route", route), ("status", status))), 0.0
    )


def database_figures(figures: Figures) -> Figures:
    """The figures read from the database, but for the ages (each scrape sees its own now)."""
    return {
        key: value
        for key, value in figures.items()
        if key[0].startswith(("privacy_dsr_", "privacy_audit_unsealed"))
        or key[0] == "privacy_metrics_database_up"
    }


def test_two_servers_count_their_own_requests_and_agree_on_what_the_database_holds(
    tmp_path: Path, server_database: str
) -> None:
    env = service_environment(tmp_path / "data", server_database, PRIVACY_METRICS_TOKEN=METRICS_TOKEN)
    first = start_server(env, tmp_path / "first.log", "--no-worker")
    second = start_server(env, tmp_path / "second.log", "--no-worker")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        for _ in range(3):
            assert httpx.get(first.url + "/readyz").status_code == 200
        assert httpx.get(second.url + "/no/such/path").status_code == 404

        # The worker, a process of its own, writes the first checkpoint; both servers see it.
        deadline = time.monotonic() + PATIENCE_SECONDS
        while ("privacy_audit_last_checkpoint_age_seconds", ()) not in scrape(second):
            assert worker.process.poll() is None, worker.log()
            assert time.monotonic() < deadline, "no server reported the worker's checkpoint"
            time.sleep(0.2)
        assert worker.stop() == 0  # nothing changes the database between the two scrapes
        from_first, from_second = scrape(first), scrape(second)
    finally:
        worker.stop()
        first.stop()
        second.stop()

    assert requests_to(from_first, "/readyz", "200") == 3
    assert requests_to(from_second, "/readyz", "200") == 0
    assert requests_to(from_first, "unmatched", "404") == 0
    assert requests_to(from_second, "unmatched", "404") == 1
    assert ("privacy_audit_last_checkpoint_age_seconds", ()) in from_first
    assert from_first[("privacy_metrics_database_up", ())] == 1
    assert database_figures(from_first) == database_figures(from_second)
