"""Deliveries as the DSR layer builds them, aimed at a fake downstream system."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from privacy_service.connectors import Delivery
from tests.support.downstream import FakeDownstream

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # the frozen clock's time, far from the wall clock's
SUBJECT_EMAIL = "ada.lovelace@example.org"
SUBJECT_NAME = "Zoë Ångström"  # non-ASCII, to check that what is signed is what is sent


def access_payload(task_id: str = "task-1") -> dict[str, Any]:
    return {
        "type": "dsr.access",
        "request_id": "req-1",
        "task_id": task_id,
        "due_at": "2026-02-15T12:00:00Z",
        "subject": {
            "id": "subj-1",
            "email": SUBJECT_EMAIL,
            "identifiers": {"customer_number": "C-1042", "name": SUBJECT_NAME},
        },
        "callback_url": f"http://testserver/v1/dsr/callbacks/{task_id}",
    }


def delivery_to(
    system: FakeDownstream,
    *,
    timeout_seconds: float = 2.0,
    webhook_id: str = "msg_task-1",
    url: str | None = None,
    secret: str | None = None,
) -> Delivery:
    return Delivery(
        system=system.name,
        url=url or system.url,
        secret=secret or system.secret,
        webhook_id=webhook_id,
        payload=access_payload(),
        timeout_seconds=timeout_seconds,
    )
