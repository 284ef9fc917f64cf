"""A fake downstream system on loopback and the real connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from privacy_service.connectors import WebhookConnector
from tests.support.downstream import FakeDownstream


@pytest.fixture
def downstream() -> Iterator[FakeDownstream]:
    with FakeDownstream(name="orders") as system:
        yield system


@pytest.fixture(scope="module")
def connector() -> Iterator[WebhookConnector]:
    """One connector for many tests, as the worker shares one (making its HTTP client loads the CA bundle)."""
    with WebhookConnector() as webhook_connector:
        yield webhook_connector
