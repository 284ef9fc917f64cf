"""A year's figures of requests (``GET /v1/dsr/stats`` and ``/console/stats``), on requests chosen by hand.

The clock starts on 2 March 2025. Two access requests are received in 2025
(answered after 4 and 7 days, the second in January 2026); in February 2026
three access requests end completed (2 days), rejected (1 day) and partially
completed (3 days), one erasure fails (3 days) and one is still open. The
systems are real HTTP servers on loopback: ``orders`` takes access requests
and answers; ``billing`` takes both and refuses every delivery (400).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from privacy_service.core.clock import FrozenClock
from privacy_service.identity.scopes import Role
from privacy_service.policy import SystemRequestType
from tests.functional.conftest import Api, Customer, MakeStaff, Shop, Staff, assert_problem, unique_email
from tests.functional.dsr_support import DsrDriver, file, signed_in
from tests.functional.web_support import Browser, text_of
from tests.support.downstream import Answer, FakeDownstream

JURISDICTIONS = ["eu_gdpr", "uk_gdpr", "br_lgpd", "us_ca_ccpa", "cn_pipl", "default"]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def billing() -> Iterator[FakeDownstream]:
    with FakeDownstream(name="billing") as fake:
        yield fake


@dataclass(frozen=True)
class Filed:
    """The requests of the module's story, by name."""

    ids: dict[str, str]


def customer_in(api: Api, country: str) -> Customer:
    email = unique_email()
    response = api.register(email=email, country=country)
    assert response.status_code == 201, response.text
    return Customer(id=response.json()["id"], email=email, password="Tandem-Lighthouse-42")


@pytest.fixture
def filed(
    api: Api,
    dsr: DsrDriver,
    dsr_shop: Shop,
    officer: Staff,
    orders: FakeDownstream,
    billing: FakeDownstream,
    clock: FrozenClock,
) -> Filed:
    """The story of the module's docstring, told through the API and the worker's steps."""
    ids: dict[str, str] = {}

    def request(name: str, kind: str, country: str) -> None:
        ids[name] = file(api, dsr_shop.headers, type=kind, subject_id=customer_in(api, country).id)["id"]

    # 2025: no system is registered yet, so the worker ends a request as soon as it looks.
    request("access 2025 DE", "access", "DE")
    clock.advance(timedelta(days=4))
    dsr.close()
    clock.set(datetime(2025, 12, 28, 9, 0, tzinfo=UTC))
    request("access 2025 GB", "access", "GB")
    clock.set(datetime(2026, 1, 4, 9, 0, tzinfo=UTC))  # answered in 2026, counted in 2025
    dsr.close()

    clock.set(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    request("access completed", "access", "DE")
    request("access rejected", "access", "GB")
    clock.advance(timedelta(days=1))
    rejected = api.http.post(
        f"/v1/dsr/{ids['access rejected']}/reject",
        json={"reason": "identity_not_verified"},
        headers=signed_in(api, officer),
    )
    assert rejected.status_code == 200, rejected.text
    clock.advance(timedelta(days=1))
    dsr.close()

    billing.answer_with(Answer(400, b'{"error": "unknown customer"}', {"Content-Type": "application/json"}))
    dsr.register(orders, request_types=(SystemRequestType.ACCESS,))
    dsr.register(billing, request_types=(SystemRequestType.ACCESS, SystemRequestType.ERASURE))
    request("access partial", "access", "BR")
    request("erasure failed", "erasure", "GB")
    clock.advance(timedelta(days=3))
    dsr.deliver()
    request("erasure open", "erasure", "DE")  # its task waits for a delivery this story never makes
    return Filed(ids=ids)


def figures(
    received: int = 0,
    *,
    completed: int = 0,
    partially_completed: int = 0,
    rejected: int = 0,
    failed: int = 0,
    open: int = 0,
    median_days: float | None = None,
) -> dict[str, Any]:
    assert received == completed + partially_completed + rejected + failed + open
    return {
        "received": received,
        "completed": completed,
        "partially_completed": partially_completed,
        "rejected": rejected,
        "failed": failed,
        "open": open,
        "median_days": median_days,
    }


NONE = figures()


def stats(api: Api, officer: Staff, **params: object) -> dict[str, Any]:
    response = api.http.get("/v1/dsr/stats", params=params, headers=signed_in(api, officer))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_figures_count_each_type_and_law_by_the_year_received_with_the_median_days_to_answer(
    api: Api, filed: Filed, officer: Staff
) -> None:
    assert stats(api, officer, year=2026) == {
        "year": 2026,
        "access": figures(3, completed=1, partially_completed=1, rejected=1, median_days=2.0),
        "erasure": figures(2, failed=1, open=1, median_days=3.0),
        "by_jurisdiction": {
            "eu_gdpr": {"access": figures(1, completed=1, median_days=2.0), "erasure": figures(1, open=1)},
            "uk_gdpr": {
                "access": figures(1, rejected=1, median_days=1.0),
                "erasure": figures(1, failed=1, median_days=3.0),
            },
            "br_lgpd": {"access": figures(1, partially_completed=1, median_days=3.0), "erasure": NONE},
            "us_ca_ccpa": {"access": NONE, "erasure": NONE},
            "cn_pipl": {"access": NONE, "erasure": NONE},
            "default": {"access": NONE, "erasure": NONE},
        },
    }
    last_year = stats(api, officer, year=2025)
    assert last_year["access"] == figures(2, completed=2, median_days=5.5)  # 4 and 7 days: their mean
    assert last_year["erasure"] == NONE
    assert last_year["by_jurisdiction"]["eu_gdpr"]["access"] == figures(1, completed=1, median_days=4.0)
    assert last_year["by_jurisdiction"]["uk_gdpr"]["access"] == figures(1, completed=1, median_days=7.0)


def test_the_year_is_the_current_one_unless_asked_and_a_year_without_requests_counts_none(
    api: Api, filed: Filed, officer: Staff
) -> None:
    assert stats(api, officer) == stats(api, officer, year=2026)
    empty = stats(api, officer, year=2024)
    assert (empty["year"], empty["access"], empty["erasure"]) == (2024, NONE, NONE)
    assert list(empty["by_jurisdiction"]) == JURISDICTIONS
    assert stats(api, officer, year=2000)["access"] == NONE
    assert stats(api, officer, year=9999)["access"] == NONE


def test_the_figures_are_for_compliance_officers_only(
    api: Api, dsr_shop: Shop, customer: Customer, make_staff: MakeStaff
) -> None:
    admin = make_staff((Role.ADMIN,))
    for headers in (
        api.tokens(customer.email, customer.password).headers,
        dsr_shop.headers,
        signed_in(api, admin),
    ):
        assert_problem(api.http.get("/v1/dsr/stats", headers=headers), 403, "forbidden")
    assert api.http.get("/v1/dsr/stats").status_code == 401


@pytest.mark.parametrize("year", ["1999", "10000", "-2026", "2026.5", "twenty", ""])
def test_a_year_that_is_not_one_from_2000_to_9999_is_refused_naming_the_field(
    api: Api, officer: Staff, year: str
) -> None:
    answer = api.http.get("/v1/dsr/stats", params={"year": year}, headers=signed_in(api, officer))
    problem = assert_problem(answer, 422, "validation_error")
    assert "year" in answer.text, problem


# -- the console -----------------------------------------------------------------------------------


def test_an_officer_reads_the_figures_in_the_console_and_picks_another_year(
    client: TestClient, api: Api, filed: Filed, officer: Staff
) -> None:
    console = Browser(client, root="/console")
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    assert 'href="/console/stats"' in console.get("/requests").text  # in the navigation

    page = console.get("/stats")
    assert page.status_code == 200
    shown = text_of(page)
    assert "Requests received in 2026" in shown
    assert (
        "Requests All laws EU/EEA — GDPR United Kingdom — UK GDPR Brazil — LGPD California — CCPA/CPRA "
        "China — PIPL Default (no specific law matched)"
    ) in shown
    # The access table: every law's column beside the whole.
    assert "Received 3 1 1 1 0 0 0 Completed 1 1 0 0 0 0 0 Partly completed 1 0 0 1 0 0 0" in shown
    assert "Rejected 1 0 1 0 0 0 0" in shown
    assert "Median days to answer 2 2 1 3 - - -" in shown
    # The erasure table.
    assert "Received 2 1 1 0 0 0 0" in shown
    assert "Not answered yet 1 1 0 0 0 0 0 Median days to answer 3 - 3 - - - -" in shown
    assert '<option value="2025">2025</option>' in page.text
    assert '<option value="2026" selected>2026</option>' in page.text

    earlier = text_of(console.get("/stats?year=2025"))
    assert "Requests received in 2025" in earlier
    assert "Received 2 1 1 0 0 0 0" in earlier
    assert "Median days to answer 5.5 4 7 - - - -" in earlier
    assert console.get("/stats?year=").status_code == 200  # the form's blank: the current year


@pytest.mark.parametrize("year", ["1999", "20266", "next", "²⁰²⁶"])
def test_the_console_refuses_a_year_it_cannot_read(
    client: TestClient, api: Api, officer: Staff, year: str
) -> None:
    console = Browser(client, root="/console")
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    assert console.get("/stats", params={"year": year}).status_code == 400


def test_the_german_console_shows_the_figures_in_german(
    client: TestClient, api: Api, filed: Filed, officer: Staff
) -> None:
    console = Browser(client, root="/console", headers={"Accept-Language": "de"})
    console.sign_in_fully(api, officer.email, officer.password, officer.totp)
    shown = text_of(console.get("/stats?year=2025"))
    assert "Jahresstatistik" in shown
    assert "Im Jahr 2025 eingegangene Anträge" in shown
    assert "Anträge Alle Rechtsordnungen EU/EEA — GDPR" in shown
    assert "Eingegangen 2 1 1 0 0 0" in shown
    assert "Median der Tage bis zur Antwort 5,5 4 7 - - -" in shown


def test_an_admin_does_not_see_the_figures(client: TestClient, api: Api, make_staff: MakeStaff) -> None:
    admin = make_staff((Role.ADMIN,))
    console = Browser(client, root="/console")
    console.sign_in_fully(api, admin.email, admin.password, admin.totp)
    assert console.get("/stats").status_code == 403
    assert 'href="/console/stats"' not in console.get("/").text
