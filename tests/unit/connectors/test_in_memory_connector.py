"""The in-memory connector answers from its script and remembers everything it was handed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from privacy_service.connectors import Accepted, Completed, Delivery, Failed, InMemoryConnector, Retained
from tests.unit.connectors.deliveries import NOW, access_payload

UNAVAILABLE = Failed(error="HTTP 503 from the system", retryable=True)


def delivery(system: str = "orders", webhook_id: str = "msg_task-1") -> Delivery:
    return Delivery(
        system=system,
        url=f"http://{system}.internal/dsr",
        secret="whsec_" + "A" * 44,
        webhook_id=webhook_id,
        payload=access_payload(),
        timeout_seconds=1.0,
    )


def test_a_system_without_a_script_completes_with_nothing() -> None:
    assert InMemoryConnector().deliver(delivery(), now=NOW) == Completed(data={}, retained=())


def test_the_default_answer_can_be_set() -> None:
    assert InMemoryConnector(default=Accepted()).deliver(delivery(), now=NOW) == Accepted()


def test_scripted_outcomes_answer_in_order_and_the_last_one_repeats() -> None:
    connector = InMemoryConnector()
    done = Completed(data={"orders": []}, retained=(Retained(category="invoices", reason="tax", until=None),))
    connector.script("orders", UNAVAILABLE, UNAVAILABLE, done)
    outcomes = [connector.deliver(delivery(), now=NOW) for _ in range(4)]
    assert outcomes == [UNAVAILABLE, UNAVAILABLE, done, done]
    assert connector.deliver(delivery("mailer"), now=NOW) == Completed(data={}, retained=())


def test_a_scripted_function_answers_with_what_it_was_sent() -> None:
    connector = InMemoryConnector()
    connector.script("orders", lambda sent: Completed(data={"task": sent.payload["task_id"]}, retained=()))
    assert connector.deliver(delivery(), now=NOW) == Completed(data={"task": "task-1"}, retained=())


def test_a_script_needs_an_outcome() -> None:
    with pytest.raises(ValueError, match="at least one"):
        InMemoryConnector().script("orders")


def test_every_delivery_is_recorded_with_the_time_it_was_signed_at() -> None:
    connector = InMemoryConnector()
    first, second = delivery("orders"), delivery("mailer", webhook_id="msg_task-2")
    connector.deliver(first, now=NOW)
    connector.deliver(second, now=NOW + timedelta(seconds=1))
    assert connector.deliveries == [first, second]
    assert connector.deliveries_to("mailer") == [second]
    assert [handed.now for handed in connector.handed] == [NOW, NOW + timedelta(seconds=1)]


def test_deliveries_from_many_threads_are_each_recorded_and_answered_once() -> None:
    connector = InMemoryConnector()
    connector.script("orders", *([UNAVAILABLE] * 50), Accepted())
    outcomes: list[object] = []
    lock = threading.Lock()

    def deliver(index: int) -> None:
        outcome = connector.deliver(delivery(webhook_id=f"msg_{index}"), now=NOW)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(UNAVAILABLE) == 50
    assert outcomes.count(Accepted()) == 10
    assert len(connector.deliveries) == 60
