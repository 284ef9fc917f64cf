"""A request the HTTP parser refuses is answered like every other refusal: a problem with a request id."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send ``request`` as it is on a fresh connection; return everything the server answers."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_an_unparsable_request_gets_a_400_problem_with_a_request_id_logged_without_what_was_sent(
    live_server: LiveServer,
) -> None:
    answer = raw_exchange(
        live_server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\x01: alice@example.com\r\n\r\n"
    )

    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("ascii").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in header_lines)}
    assert status_line == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-content-type-options"] == "nosniff"
    problem = json.loads(body)
    assert problem["status"] == 400
    assert problem["code"] == "bad_request"
    assert problem["request_id"] == headers["x-request-id"]

    live_server.stop()
    log = live_server.log()
    logged = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(entry.get("request_id") == problem["request_id"] for entry in logged)
    assert "alice@example.com" not in log
