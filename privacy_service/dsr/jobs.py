"""The background jobs of data subject requests, for the worker to register.

Deliveries manage their own units of work (``FanOut``); the others run in the
unit of work the worker hands each run, like every job: fail tasks whose
deadline passed, end requests none of whose tasks is open, journal erasures
outside the database, purge expired export bundles, and purge the records of
requests that ended longer ago than they are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from privacy_service.dsr.closing import close_finished_requests, fail_overdue_tasks
from privacy_service.dsr.erasure import journal_pending_erasures
from privacy_service.dsr.exports import purge_expired_exports
from privacy_service.dsr.fanout import FanOut
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.records import purge_ended_requests
from privacy_service.policy import Period
from privacy_service.work import Work


def deliver_tasks_job(fanout: FanOut) -> Callable[[Work], None]:
    def run(_work: Work) -> None:
        fanout.run_once()

    return run


def close_requests_job(fulfilment: Fulfilment) -> Callable[[Work], None]:
    def run(work: Work) -> None:
        fail_overdue_tasks(work, fulfilment=fulfilment)
        close_finished_requests(work, fulfilment=fulfilment)

    return run


def journal_erasures_job(path: Path) -> Callable[[Work], None]:
    def run(work: Work) -> None:
        journal_pending_erasures(work, path=path)

    return run


def purge_exports_job() -> Callable[[Work], None]:
    def run(work: Work) -> None:
        purge_expired_exports(work)

    return run


def purge_records_job(*, keep: Period) -> Callable[[Work], None]:
    def run(work: Work) -> None:
        purge_ended_requests(work, keep=keep)

    return run
