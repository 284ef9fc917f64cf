"""The background jobs of data subject requests, for the worker to register.

Deliveries manage their own transactions (``FanOut``); the others run inside
the worker's unit of work like every job: fail tasks whose deadline passed,
end requests none of whose tasks is open, journal erasures outside the
database, and purge expired export bundles.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from privacy_service.core.clock import Clock
from privacy_service.dsr.closing import close_finished_requests, fail_overdue_tasks
from privacy_service.dsr.erasure import journal_pending_erasures
from privacy_service.dsr.exports import purge_expired_exports
from privacy_service.dsr.fanout import FanOut
from privacy_service.dsr.runtime import DsrRuntime


class JobInput(Protocol):
    @property
    def session(self) -> Session: ...

    @property
    def clock(self) -> Clock: ...


def deliver_tasks_job(fanout: FanOut) -> Callable[[JobInput], None]:
    def run(_job: JobInput) -> None:
        fanout.run_once()

    return run


def close_requests_job(runtime: DsrRuntime) -> Callable[[JobInput], None]:
    def run(job: JobInput) -> None:
        fail_overdue_tasks(session=job.session, runtime=runtime, clock=job.clock)
        close_finished_requests(session=job.session, runtime=runtime, clock=job.clock)

    return run


def journal_erasures_job(path: Path) -> Callable[[JobInput], None]:
    def run(job: JobInput) -> None:
        journal_pending_erasures(session=job.session, clock=job.clock, path=path)

    return run


def purge_exports_job() -> Callable[[JobInput], None]:
    def run(job: JobInput) -> None:
        purge_expired_exports(session=job.session, clock=job.clock)

    return run
