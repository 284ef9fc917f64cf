"""A request's record is kept ``PRIVACY_DSR_RECORD_MONTHS`` (24) after it ended; then the worker purges it.

The clock starts on 10 January 2023 and jumps the years forward; the purge is
the worker's own job (``purge_dsr_records`` of ``worker.default_jobs``), run by
the test when it wants. Requests are filed through the API and the privacy
center and answered by ``orders``, a real HTTP server on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.dsr.models import (
    CallbackReceipt,
    DsrExport,
    DsrNotice,
    DsrNoticeDelivery,
    DsrRequest,
    DsrTask,
    ErasureRecord,
    RequestReceipt,
)
from privacy_service.keys.models import SubjectKey
from privacy_service.keys.service import Keyring
from privacy_service.policy import Period, SystemRequestType
from privacy_service.work import Workplace
from privacy_service.worker import JobFunction, default_jobs
from tests.conftest import make_settings
from tests.functional.conftest import Api, Customer, MakeCustomer, Shop, Staff
from tests.functional.dsr_support import DsrDriver, file, signed_in, view
from tests.functional.test_audit_api import seal
from tests.functional.web_support import Browser
from tests.support.downstream import FakeDownstream

TWO_YEARS = Period(months=24)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2023, 1, 10, 9, 0, tzinfo=UTC))


@pytest.fixture
def mailer(dsr: DsrDriver) -> Iterator[FakeDownstream]:
    """The shop's mailer, which takes the notices to the customer."""
    with FakeDownstream(name="mailer") as fake:
        dsr.register(fake, request_types=(SystemRequestType.NOTICE,))
        yield fake


def purge_job(settings: Settings, *, dsr: DsrDriver, keyring: Keyring) -> JobFunction:
    """The worker's job that purges old records, as ``default_jobs`` builds it from ``settings``."""
    jobs = default_jobs(settings=settings, provider=keyring.provider, fanout=dsr.fanout)
    return next(job.run for job in jobs if job.name == "purge_dsr_records")


def run(job: JobFunction, workplace: Workplace) -> None:
    with workplace.open() as work:
        job(work)


def rows_about(sessions: sessionmaker[Session], request_id: str) -> dict[str, int]:
    """How many rows of each table belong to the request (callbacks through its tasks, deliveries through
    its notices)."""
    with sessions() as session:
        tasks = select(DsrTask.id).where(DsrTask.request_id == request_id).scalar_subquery()
        notices = select(DsrNotice.id).where(DsrNotice.request_id == request_id).scalar_subquery()
        counted = {
            "request": select(DsrRequest).where(DsrRequest.id == request_id),
            "tasks": select(DsrTask).where(DsrTask.request_id == request_id),
            "callbacks": select(CallbackReceipt).where(CallbackReceipt.task_id.in_(tasks)),
            "notices": select(DsrNotice).where(DsrNotice.request_id == request_id),
            "notice deliveries": select(DsrNoticeDelivery).where(DsrNoticeDelivery.notice_id.in_(notices)),
            "export": select(DsrExport).where(DsrExport.request_id == request_id),
            "receipt": select(RequestReceipt).where(RequestReceipt.request_id == request_id),
            "erasure record": select(ErasureRecord).where(ErasureRecord.request_id == request_id),
        }
        return {
            name: session.scalar(select(func.count()).select_from(query.subquery())) or 0
            for name, query in counted.items()
        }


def live_notice_keys(sessions: sessionmaker[Session], request_id: str) -> int:
    """How many of the request's notices still hold a message under a key not yet shredded."""
    with sessions() as session:
        owners = select(DsrNotice.key_owner).where(DsrNotice.request_id == request_id).scalar_subquery()
        live = select(func.count()).where(SubjectKey.subject_id.in_(owners), SubjectKey.wrapped.is_not(None))
        return session.scalar(live) or 0


def purge_events(api: Api, workplace: Workplace, officer: Staff) -> list[dict[str, Any]]:
    seal(workplace)
    answer = api.http.get(
        "/v1/audit/events", params={"action": "dsr_records_purge"}, headers=signed_in(api, officer)
    )
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["items"]
    return events


def test_a_request_ended_24_months_and_a_day_ago_is_purged_with_all_that_hangs_from_it(
    client: TestClient,
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    mailer: FakeDownstream,
    dsr_shop: Shop,
    make_customer: MakeCustomer,
    officer: Staff,
    settings: Settings,
    keyring: Keyring,
    workplace: Workplace,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    orders.answer_accepted()
    dsr.register(orders)
    erased, asking, later = make_customer(), make_customer(), make_customer()
    privacy = Browser(client)
    privacy.sign_in(erased.email, erased.password)
    filed = privacy.post(
        "/requests", {"type": "erasure", "confirm": "yes"}, from_page="/requests/new/erasure"
    )
    assert filed.status_code == 303
    erasure = filed.headers["location"].rsplit("/", 1)[1]  # its browser holds a receipt
    access = file(api, dsr_shop.headers, type="access", subject_id=asking.id)["id"]
    dsr.deliver()
    for delivery in orders.deliveries:  # the system answers later, by a signed callback
        callback = orders.signed_callback(delivery, data={"orders": [1]}, timestamp=clock.now())
        path = callback.url.replace("http://127.0.0.1:8000", "")
        assert api.http.post(path, content=callback.body, headers=callback.headers).status_code == 200
    dsr.close()
    ended = clock.now()
    dsr.deliver()  # the notices that they completed
    for request_id in (erasure, access):
        assert view(api, request_id, signed_in(api, officer))["status"] == "completed"
    assert rows_about(sessions, erasure) == {
        "request": 1, "tasks": 1, "callbacks": 1, "notices": 2, "notice deliveries": 2,
        "export": 0, "receipt": 1, "erasure record": 1,
    }  # fmt: skip
    assert rows_about(sessions, access)["export"] == 1

    clock.set(datetime(2023, 2, 11, 9, 0, tzinfo=UTC))
    orders.answer_completed()
    recent = file(api, dsr_shop.headers, type="access", subject_id=later.id)["id"]
    dsr.deliver()
    kept = rows_about(sessions, recent)
    assert kept == {
        "request": 1, "tasks": 1, "callbacks": 0, "notices": 2, "notice deliveries": 2,
        "export": 1, "receipt": 0, "erasure record": 0,
    }  # fmt: skip

    job = purge_job(settings, dsr=dsr, keyring=keyring)
    clock.set(TWO_YEARS.after(ended))
    run(job, workplace)
    assert rows_about(sessions, access)["request"] == 1, "24 months to the minute: not yet"
    assert purge_events(api, workplace, officer) == []

    clock.set(TWO_YEARS.after(ended) + timedelta(days=1))  # the recent one ended 23 months ago
    run(job, workplace)
    gone = dict.fromkeys(kept, 0)
    assert rows_about(sessions, access) == gone
    assert rows_about(sessions, erasure) == {**gone, "erasure record": 1}, (
        "what erases a restored backup stays"
    )
    assert rows_about(sessions, recent) == kept
    headers = signed_in(api, officer)
    assert api.http.get(f"/v1/dsr/{access}", headers=headers).status_code == 404
    assert view(api, recent, headers)["status"] == "completed"

    [event] = purge_events(api, workplace, officer)
    assert (event["actor"], event["target"], event["outcome"]) == (
        {"type": "system", "id": "privacy-service"},
        {"type": "system", "id": "privacy-service"},
        "success",
    )
    cut_off = datetime.fromisoformat(event["details"]["ended_before"])
    assert ended < cut_off < datetime(2023, 2, 11, tzinfo=UTC)
    assert event["details"] == {"requests": 2, "ended_before": cut_off.isoformat(), "keep_months": 24}

    run(job, workplace)  # nothing more is due: nothing purged, nothing recorded
    assert len(purge_events(api, workplace, officer)) == 1


def test_an_open_request_is_never_purged_however_old_and_an_undelivered_notice_goes_unreadable(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    mailer: FakeDownstream,
    dsr_shop: Shop,
    make_customer: MakeCustomer,
    officer: Staff,
    settings: Settings,
    keyring: Keyring,
    workplace: Workplace,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    dsr.register(orders)  # this test never delivers: the task and the notices wait
    still_open = file(api, dsr_shop.headers, type="access", subject_id=make_customer().id)["id"]
    refused = file(api, dsr_shop.headers, type="erasure", subject_id=make_customer().id)["id"]
    answer = api.http.post(
        f"/v1/dsr/{refused}/reject", json={"reason": "excessive"}, headers=signed_in(api, officer)
    )
    assert answer.status_code == 200, answer.text

    assert live_notice_keys(sessions, refused) == 2  # acknowledged, rejected: sealed, not yet delivered
    assert live_notice_keys(sessions, still_open) == 1
    refused_notices = [notice["kind"] for notice in view(api, refused, signed_in(api, officer))["notices"]]

    clock.set(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    run(purge_job(settings, dsr=dsr, keyring=keyring), workplace)

    assert sorted(refused_notices) == ["acknowledged", "rejected"]
    assert rows_about(sessions, refused) == dict.fromkeys(rows_about(sessions, refused), 0)
    with sessions() as session:
        shredded = session.scalars(
            select(SubjectKey.wrapped).where(SubjectKey.subject_id.like("notice:%"))
        ).all()
    assert sorted(wrapped is None for wrapped in shredded) == [False, True, True]
    assert live_notice_keys(sessions, still_open) == 1
    assert rows_about(sessions, still_open)["tasks"] == 1
    seen = view(api, still_open, signed_in(api, officer))
    assert (seen["status"], seen["tasks"][0]["status"]) == ("received", "pending")
    [event] = purge_events(api, workplace, officer)
    assert event["details"]["requests"] == 1


def test_records_are_kept_as_long_as_the_setting_says(
    api: Api,
    dsr: DsrDriver,
    dsr_shop: Shop,
    customer: Customer,
    officer: Staff,
    keyring: Keyring,
    workplace: Workplace,
    sessions: sessionmaker[Session],
    clock: FrozenClock,
    tmp_path: Path,
    settings: Settings,
) -> None:
    refused = file(api, dsr_shop.headers, type="access", subject_id=customer.id)["id"]
    answer = api.http.post(
        f"/v1/dsr/{refused}/reject", json={"reason": "excessive"}, headers=signed_in(api, officer)
    )
    assert answer.status_code == 200, answer.text
    clock.set(datetime(2025, 2, 10, 9, 0, tzinfo=UTC))  # 25 months later

    three_years = make_settings(tmp_path, dsr_record_months=36)
    run(purge_job(three_years, dsr=dsr, keyring=keyring), workplace)
    assert rows_about(sessions, refused)["request"] == 1
    run(purge_job(settings, dsr=dsr, keyring=keyring), workplace)
    assert rows_about(sessions, refused)["request"] == 0
