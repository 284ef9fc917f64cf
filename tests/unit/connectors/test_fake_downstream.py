"""The fake downstream system does what functional tests and benchmarks count on."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from privacy_service.connectors import (
    Completed,
    Failed,
    InvalidSignature,
    Retained,
    WebhookConnector,
    parse_completion,
    verify_signature,
)
from tests.support.downstream import FakeDownstream, FakeDownstreamFleet
from tests.unit.connectors.deliveries import NOW, delivery_to


def test_a_signed_callback_verifies_at_its_timestamp_and_carries_the_completion(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    downstream.answer_accepted()
    connector.deliver(delivery_to(downstream), now=NOW)
    (received,) = downstream.deliveries
    later = NOW + timedelta(hours=2)
    callback = downstream.signed_callback(
        received,
        data={"tickets": [1, 2]},
        retained=[{"category": "invoices", "reason": "tax law", "until": None}],
        timestamp=later,
    )
    assert callback.url == "http://testserver/v1/dsr/callbacks/task-1"
    webhook_id = verify_signature(
        secret=downstream.secret, headers=callback.headers, body=callback.body, now=later
    )
    assert webhook_id.startswith("msg_")
    assert parse_completion(callback.body) == Completed(
        data={"tickets": [1, 2]}, retained=(Retained(category="invoices", reason="tax law", until=None),)
    )
    with pytest.raises(InvalidSignature):
        verify_signature(secret=downstream.secret, headers=callback.headers, body=callback.body, now=NOW)


def test_complete_by_callback_posts_the_signed_body(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    connector.deliver(delivery_to(downstream), now=NOW)
    posted: list[tuple[str, bytes, dict[str, str]]] = []

    def post(url: str, *, content: bytes, headers: dict[str, str]) -> str:
        posted.append((url, content, headers))
        return "answered"

    answer = downstream.complete_by_callback(
        downstream.deliveries[0], post=post, data={"a": 1}, timestamp=NOW
    )
    assert answer == "answered"
    ((url, content, headers),) = posted
    assert url.endswith("/v1/dsr/callbacks/task-1")
    verify_signature(secret=downstream.secret, headers=headers, body=content, now=NOW)
    assert parse_completion(content).data == {"a": 1}


def test_a_request_with_a_bad_signature_is_refused_and_not_recorded(downstream: FakeDownstream) -> None:
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(NOW.timestamp())),
        "webhook-signature": "v1,AAAA",
    }
    response = httpx.post(downstream.url, content=b"{}", headers=headers)
    assert response.status_code == 401
    assert downstream.deliveries == []
    assert len(downstream.rejections) == 1


def test_a_delivery_is_recorded_before_a_silent_system_is_stopped_promptly(
    downstream: FakeDownstream,
) -> None:
    downstream.never_answer()
    outcomes: list[Any] = []
    with WebhookConnector() as connector:
        sender = threading.Thread(
            target=lambda: outcomes.append(
                connector.deliver(delivery_to(downstream, timeout_seconds=10), now=NOW)
            )
        )
        sender.start()
        downstream.wait_for_deliveries(1)
        started = time.monotonic()
        downstream.stop()
        sender.join(timeout=5)
    assert time.monotonic() - started < 1
    assert isinstance(outcomes[0], Failed)
    assert outcomes[0].retryable


def test_waiting_for_deliveries_that_never_come_times_out(downstream: FakeDownstream) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        downstream.wait_for_deliveries(1, timeout=0.05)


def test_a_fleet_of_slow_systems_answers_side_by_side(connector: WebhookConnector) -> None:
    with FakeDownstreamFleet(8, prefix="shop") as fleet:
        for system in fleet:
            system.delay_answers(0.3)
        outcomes: list[Any] = []
        threads = [
            threading.Thread(
                target=lambda s=system: outcomes.append(connector.deliver(delivery_to(s), now=NOW))
            )
            for system in fleet
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.monotonic() - started < 1.2  # in turn it would take 2.4 s
        assert outcomes == [Completed(data={}, retained=())] * 8
        assert len(fleet) == 8
        assert len(fleet.deliveries) == 8
        assert fleet["shop-03"].deliveries[0].path == "/shop-03/dsr"
    with pytest.raises(KeyError):
        fleet["shop-99"]


def test_a_fleet_checking_timestamps_accepts_deliveries_signed_by_the_wall_clock(
    connector: WebhookConnector,
) -> None:
    with FakeDownstreamFleet(2, check_timestamp=True) as fleet:
        for system in fleet:
            assert isinstance(connector.deliver(delivery_to(system), now=datetime.now(UTC)), Completed)
        assert [system.rejections for system in fleet] == [[], []]
