"""Driving data subject requests in functional tests: downstream systems, the worker's steps, the clock.

The worker is not started: a test runs its steps (deliver, wait, close) when
it wants, on the frozen clock, so retries and deadlines are tested by moving
time, never by sleeping. Downstream systems are real HTTP servers on loopback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from privacy_service.audit.actions import SYSTEM
from privacy_service.dsr import systems
from privacy_service.dsr.fanout import FanOut
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.jobs import close_requests_job
from privacy_service.policy import SystemRequestType
from privacy_service.work import Workplace
from tests.support.downstream import FakeDownstream

if TYPE_CHECKING:  # conftest builds its ``dsr`` fixture from this module
    from tests.functional.conftest import Api, Staff


class DsrDriver:
    """The worker's steps, run by the test; and the registry of fake systems."""

    def __init__(self, app: FastAPI, workplace: Workplace) -> None:
        self.fulfilment: Fulfilment = app.state.fulfilment
        self.workplace = workplace
        self.fanout = FanOut(workplace=workplace, fulfilment=self.fulfilment)

    def register(
        self,
        fake: FakeDownstream,
        *,
        request_types: Iterable[SystemRequestType] = (SystemRequestType.ACCESS, SystemRequestType.ERASURE),
        categories: Iterable[str] = ("orders",),
        timeout_seconds: float = 2.0,
    ) -> None:
        with self.workplace.open() as work:
            systems.register_system(
                work,
                policies=self.fulfilment.policies,
                actor=SYSTEM,
                name=fake.name,
                url=fake.url,
                secret=fake.secret,
                request_types=request_types,
                categories=categories,
                timeout_seconds=timeout_seconds,
            )

    def deliver(self) -> int:
        """Lease and send every due task, wait for the answers, then end what can end."""
        sent = self.fanout.run_once()
        self.fanout.wait(timeout=10)
        self.close()
        return sent

    def close(self) -> None:
        """The worker's other DSR job: fail tasks past their deadline, end requests with nothing open."""
        with self.workplace.open() as work:
            close_requests_job(self.fulfilment)(work)

    def shutdown(self) -> None:
        self.fanout.close()


def signed_in(api: Api, staff: Staff) -> dict[str, str]:
    """Fresh headers of a staff member signed in with password and TOTP now (tokens expire as time moves)."""
    assert staff.totp is not None
    return api.tokens_with_totp(staff.email, staff.password, staff.totp).headers


def file(api: Api, headers: dict[str, str], **body: object) -> dict[str, Any]:
    """File a request through ``POST /v1/dsr``; return the receipt."""
    response = api.http.post("/v1/dsr", json=body, headers=headers)
    assert response.status_code == 202, response.text
    receipt: dict[str, Any] = response.json()
    return receipt


def view(api: Api, request_id: object, headers: dict[str, str]) -> dict[str, Any]:
    """A request as ``GET /v1/dsr/{id}`` shows it to these headers."""
    response = api.http.get(f"/v1/dsr/{request_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def task_of(view: dict[str, Any], system: str) -> dict[str, Any]:
    """The task of one system in a request's view."""
    return next(task for task in view["tasks"] if task["system"] == system)
