"""STYLE.md habit 9: the real connector and the in-memory one keep the same promises.

A rig scripts one system per connector to complete, accept, be unavailable for a
while, or refuse; the same tests then check what ``deliver`` returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from privacy_service.connectors import (
    Accepted,
    Completed,
    Connector,
    Delivery,
    Failed,
    InMemoryConnector,
    Retained,
    WebhookConnector,
)
from tests.support.downstream import Answer, FakeDownstream
from tests.unit.connectors.deliveries import NOW, SUBJECT_EMAIL, access_payload, delivery_to

DATA = {"orders": [{"id": "o-1", "total": "19.90"}]}
RETAINED = {"category": "invoices", "reason": "tax law", "until": "2036-01-15"}


class Rig(Protocol):
    @property
    def connector(self) -> Connector: ...

    def completing(self, data: dict[str, Any], retained: dict[str, Any]) -> Delivery: ...
    def accepting(self) -> Delivery: ...
    def unavailable_once(self) -> Delivery: ...
    def refusing(self) -> Delivery: ...


class WebhookRig:
    def __init__(self, connector: WebhookConnector, system: FakeDownstream) -> None:
        self.connector = connector
        self.system = system

    def completing(self, data: dict[str, Any], retained: dict[str, Any]) -> Delivery:
        self.system.answer_completed(data=data, retained=[retained])
        return delivery_to(self.system)

    def accepting(self) -> Delivery:
        self.system.answer_accepted()
        return delivery_to(self.system)

    def unavailable_once(self) -> Delivery:
        self.system.fail_first(1)
        return delivery_to(self.system)

    def refusing(self) -> Delivery:
        self.system.answer_with(Answer(400, f"no such customer {SUBJECT_EMAIL}".encode()))
        return delivery_to(self.system)


class InMemoryRig:
    def __init__(self) -> None:
        self.connector = InMemoryConnector()

    def completing(self, data: dict[str, Any], retained: dict[str, Any]) -> Delivery:
        self.connector.script("orders", Completed(data=data, retained=(Retained(**retained),)))
        return self._delivery()

    def accepting(self) -> Delivery:
        self.connector.script("orders", Accepted())
        return self._delivery()

    def unavailable_once(self) -> Delivery:
        unavailable = Failed(error="HTTP 503 from the system", retryable=True)
        self.connector.script("orders", unavailable, Completed(data={}, retained=()))
        return self._delivery()

    def refusing(self) -> Delivery:
        self.connector.script("orders", Failed(error="HTTP 400 from the system", retryable=False))
        return self._delivery()

    def _delivery(self) -> Delivery:
        return Delivery(
            system="orders",
            url="http://orders.internal/dsr",
            secret="whsec_" + "A" * 44,
            webhook_id="msg_task-1",
            payload=access_payload(),
            timeout_seconds=2.0,
        )


@pytest.fixture(params=["webhook", "in_memory"])
def rig(request: pytest.FixtureRequest, connector: WebhookConnector) -> Iterator[Rig]:
    if request.param == "in_memory":
        yield InMemoryRig()
        return
    with FakeDownstream(name="orders") as system:
        yield WebhookRig(connector, system)


def test_a_completion_returns_the_data_and_what_is_retained(rig: Rig) -> None:
    outcome = rig.connector.deliver(rig.completing(DATA, RETAINED), now=NOW)
    assert outcome == Completed(data=DATA, retained=(Retained(**RETAINED),))


def test_an_accepted_delivery_returns_accepted(rig: Rig) -> None:
    assert rig.connector.deliver(rig.accepting(), now=NOW) == Accepted()


def test_an_unavailable_system_fails_retryably_and_the_same_delivery_succeeds_later(rig: Rig) -> None:
    delivery = rig.unavailable_once()
    first = rig.connector.deliver(delivery, now=NOW)
    assert isinstance(first, Failed)
    assert first.retryable
    assert isinstance(rig.connector.deliver(delivery, now=NOW), Completed)


def test_a_refusal_fails_for_good_with_a_message_free_of_personal_data(rig: Rig) -> None:
    outcome = rig.connector.deliver(rig.refusing(), now=NOW)
    assert isinstance(outcome, Failed)
    assert not outcome.retryable
    assert outcome.error
    assert SUBJECT_EMAIL not in outcome.error
