"""Driving data subject requests in functional tests: downstream systems, the worker's steps, the clock.

The worker is not started: a test runs its steps (deliver, wait, close) when
it wants, on the frozen clock, so retries and deadlines are tested by moving
time, never by sleeping. Downstream systems are real HTTP servers on loopback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.actions import SYSTEM
from privacy_service.core.clock import FrozenClock
from privacy_service.core.db import unit_of_work
from privacy_service.dsr import systems
from privacy_service.dsr.fanout import FanOut
from privacy_service.dsr.jobs import close_requests_job
from privacy_service.dsr.runtime import DsrRuntime
from privacy_service.policy import SystemRequestType
from tests.support.downstream import FakeDownstream


class DsrDriver:
    """The worker's steps, run by the test; and the registry of fake systems."""

    def __init__(self, app: FastAPI, sessions: sessionmaker[Session], clock: FrozenClock) -> None:
        self.runtime: DsrRuntime = app.state.dsr
        self.sessions = sessions
        self.clock = clock
        self.fanout = FanOut(sessions=sessions, runtime=self.runtime, clock=clock)

    def register(
        self,
        fake: FakeDownstream,
        *,
        request_types: Iterable[SystemRequestType] = (SystemRequestType.ACCESS, SystemRequestType.ERASURE),
        categories: Iterable[str] = ("orders",),
        timeout_seconds: float = 2.0,
    ) -> None:
        with unit_of_work(self.sessions) as session:
            systems.register_system(
                session=session,
                keyring=self.runtime.keyring,
                clock=self.clock,
                policies=self.runtime.policies,
                actor=SYSTEM,
                name=fake.name,
                url=fake.url,
                secret=fake.secret,
                request_types=request_types,
                categories=categories,
                timeout_seconds=timeout_seconds,
            )

    def deliver(self) -> int:
        """Claim and send every due task, wait for the answers, then end what can end."""
        sent = self.fanout.run_once()
        self.fanout.wait(timeout=10)
        self.close()
        return sent

    def close(self) -> None:
        """The worker's other DSR job: fail tasks past their deadline, end requests with nothing open."""

        class Job:
            def __init__(self, session: Session, clock: FrozenClock) -> None:
                self.session = session
                self.clock = clock

        with unit_of_work(self.sessions) as session:
            close_requests_job(self.runtime)(Job(session, self.clock))

    def shutdown(self) -> None:
        self.fanout.close()


def task_of(view: dict[str, Any], system: str) -> dict[str, Any]:
    return next(task for task in view["tasks"] if task["system"] == system)
