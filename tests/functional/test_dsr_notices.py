"""What the law asks of the answer itself: notices to the subject, and extensions of the deadline.

A notice system (the shop's mailer) runs as a real server on loopback and
checks every webhook's Standard Webhooks signature; the notices it receives
are read as a mailer would, in the subject's language.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from privacy_service.core.clock import FrozenClock
from privacy_service.dsr.models import DsrNotice
from privacy_service.dsr.notices import DELIVERY_WINDOW
from privacy_service.keys.models import SubjectKey
from privacy_service.policy import SystemRequestType
from privacy_service.work import Workplace
from tests.functional.conftest import (
    CUSTOMER_PASSWORD,
    Api,
    Customer,
    Shop,
    Staff,
    assert_problem,
    unique_email,
)
from tests.functional.dsr_support import DsrDriver, file, signed_in, view
from tests.support.downstream import FakeDownstream, ReceivedDelivery


@pytest.fixture
def mailer() -> Iterator[FakeDownstream]:
    with FakeDownstream(name="mailer") as fake:
        yield fake


@pytest.fixture
def mailing(dsr: DsrDriver, mailer: FakeDownstream) -> FakeDownstream:
    """The mailer, registered to take notices."""
    dsr.register(mailer, request_types=(SystemRequestType.NOTICE,), categories=())
    return mailer


def notices_of(mailer: FakeDownstream, request_id: str) -> dict[str, dict[str, Any]]:
    """The notices the mailer took about one request, by kind; each kind is sent once."""
    found: dict[str, dict[str, Any]] = {}
    for delivery in mailer.deliveries:
        if delivery.payload["request_id"] == request_id:
            assert delivery.payload["kind"] not in found, "a notice is delivered once"
            found[delivery.payload["kind"]] = delivery.payload
    return found


def acknowledgements(mailer: FakeDownstream, request_id: str) -> list[ReceivedDelivery]:
    """Every attempt the mailer saw of one request's acknowledgement (a failed answer is still seen)."""
    return [
        delivery
        for delivery in mailer.deliveries
        if delivery.payload["request_id"] == request_id and delivery.payload["kind"] == "acknowledged"
    ]


def customer_speaking(api: Api, *, country: str, locale: str | None) -> Customer:
    profile: dict[str, Any] = {"given_name": "Ana"}
    if locale is not None:
        profile["locale"] = locale
    email = unique_email()
    response = api.register(email=email, country=country, profile=profile)
    assert response.status_code == 201, response.text
    return Customer(id=response.json()["id"], email=email, password=CUSTOMER_PASSWORD)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# -- notices ----------------------------------------------------------------------------------------


def test_an_erasure_is_acknowledged_and_completed_in_german_signed_and_listed_on_the_request(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    mailing: FakeDownstream,
    dsr_shop: Shop,
    officer: Staff,
    workplace: Workplace,
) -> None:
    orders.answer_completed(
        {}, retained=[{"category": "invoices", "reason": "HGB §257", "until": "2034-12-31"}]
    )
    dsr.register(orders)
    customer = customer_speaking(api, country="DE", locale="de-DE")
    receipt = file(api, dsr_shop.headers, type="erasure", subject_id=customer.id)

    listed = view(api, receipt["id"], dsr_shop.headers)
    assert [(notice["kind"], notice["delivered"]) for notice in listed["notices"]] == [
        ("acknowledged", False)
    ]

    dsr.deliver()  # the acknowledgement and the task go out together; the task ends the request
    dsr.deliver()  # the completion notice, written when it ended
    sent = notices_of(mailing, receipt["id"])
    assert set(sent) == {"acknowledged", "completed"}
    acknowledged, completed = sent["acknowledged"], sent["completed"]
    assert acknowledged["type"] == "dsr.notice"
    assert acknowledged["subject"] == {"id": customer.id, "email": customer.email, "locale": "de-DE"}
    assert acknowledged["language"] == "de"
    # The GDPR's month from 15 January ends on Sunday 15 February, so on Monday 16 February, in German.
    assert "16. Februar 2026" in acknowledged["text"]
    assert "Ana" in acknowledged["text"]
    # Written before the erasure shredded the subject's key, delivered after it.
    assert completed["subject"]["email"] == customer.email
    assert completed["language"] == "de"
    assert "HGB §257" in completed["text"], "what a system keeps, and why"
    for payload in (acknowledged, completed):
        assert payload["subject_line"]
        assert "\n" not in payload["subject_line"]
        assert payload["html"].startswith("<p>")

    ended = view(api, receipt["id"], signed_in(api, officer))
    assert ended["status"] == "completed"
    assert [(notice["kind"], notice["delivered"]) for notice in ended["notices"]] == [
        ("acknowledged", True),
        ("completed", True),
    ]
    with workplace.open() as work:
        notices = work.session.scalars(select(DsrNotice).where(DsrNotice.request_id == receipt["id"])).all()
        assert [notice.message for notice in notices] == [None, None], "dropped once delivered"
        keys = work.session.scalars(
            select(SubjectKey).where(SubjectKey.subject_id.in_([notice.key_owner for notice in notices]))
        ).all()
        assert len(keys) == 2
        assert all(key.wrapped is None and key.destroyed_at is not None for key in keys), "keys shredded"


def test_a_rejection_names_the_reason_and_the_remedies_in_brazilian_portuguese(
    api: Api,
    dsr: DsrDriver,
    mailing: FakeDownstream,
    dsr_shop: Shop,
    officer: Staff,
) -> None:
    customer = customer_speaking(api, country="BR", locale="pt-BR")
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    detail = "Pedido repetido <três vezes> & sem fatos novos"
    rejected = api.http.post(
        f"/v1/dsr/{receipt['id']}/reject",
        json={"reason": "excessive", "detail": detail},
        headers=signed_in(api, officer),
    )
    assert rejected.status_code == 200, rejected.text
    dsr.deliver()

    rejection = notices_of(mailing, receipt["id"])["rejected"]
    assert rejection["language"] == "pt-BR"
    assert detail in rejection["text"], "plain text carries the officer's words as typed"
    assert "&lt;três vezes&gt; &amp;" in rejection["html"], "the HTML escapes them"
    assert "Autoridade Nacional de Proteção de Dados" in rejection["text"], "LGPD's supervisory authority"
    kinds = [notice["kind"] for notice in view(api, receipt["id"], dsr_shop.headers)["notices"]]
    assert kinds == ["acknowledged", "rejected"]


def test_a_rejection_without_a_reason_from_the_list_is_refused_and_nothing_is_told(
    api: Api, dsr: DsrDriver, mailing: FakeDownstream, customer: Customer, dsr_shop: Shop, officer: Staff
) -> None:
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    headers = signed_in(api, officer)
    for body in ({}, {"detail": "no reason"}, {"reason": "we do not feel like it"}):
        assert_problem(
            api.http.post(f"/v1/dsr/{receipt['id']}/reject", json=body, headers=headers),
            422,
            "validation_error",
        )
    for body in ({"reason": "other"}, {"reason": "other", "detail": "  "}):
        unexplained = api.http.post(f"/v1/dsr/{receipt['id']}/reject", json=body, headers=headers)
        assert_problem(unexplained, 422, "rejection_detail_required")
    assert view(api, receipt["id"], headers)["status"] != "rejected"
    kinds = [notice["kind"] for notice in view(api, receipt["id"], headers)["notices"]]
    assert kinds == ["acknowledged"]


def test_a_language_without_templates_gets_english(
    api: Api, dsr: DsrDriver, mailing: FakeDownstream, dsr_shop: Shop
) -> None:
    customer = customer_speaking(api, country="DE", locale="ja-JP")
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    dsr.deliver()
    acknowledged = notices_of(mailing, receipt["id"])["acknowledged"]
    assert acknowledged["language"] == "en"
    assert acknowledged["subject"]["locale"] == "ja-JP"
    assert "February 16, 2026" in acknowledged["text"]


def test_a_mailer_that_is_down_is_retried_then_the_notice_fails_undelivered(
    api: Api,
    dsr: DsrDriver,
    mailing: FakeDownstream,
    customer: Customer,
    dsr_shop: Shop,
    officer: Staff,
    clock: FrozenClock,
) -> None:
    mailing.fail_first(1000, status=503)
    receipt_time = iso(clock.now())
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    dsr.deliver()
    first = acknowledgements(mailing, receipt["id"])
    clock.advance(timedelta(hours=12))
    dsr.deliver()
    retried = acknowledgements(mailing, receipt["id"])
    assert len(retried) > len(first), "retried after a pause"
    assert {delivery.webhook_id for delivery in retried} == {first[0].webhook_id}, "one webhook-id"
    clock.advance(DELIVERY_WINDOW)
    dsr.deliver()
    notice = view(api, receipt["id"], signed_in(api, officer))["notices"][0]
    assert notice == {"kind": "acknowledged", "at": receipt_time, "delivered": False}


def test_without_a_notice_system_a_request_records_its_notice_undelivered(
    api: Api, dsr: DsrDriver, customer: Customer, dsr_shop: Shop
) -> None:
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    dsr.deliver()
    notices = view(api, receipt["id"], dsr_shop.headers)["notices"]
    assert [(notice["kind"], notice["delivered"]) for notice in notices] == [
        ("acknowledged", False),
        ("completed", False),
    ]


# -- extensions -------------------------------------------------------------------------------------


def test_an_officer_extends_a_gdpr_request_once_and_the_subject_is_told_why(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    mailing: FakeDownstream,
    dsr_shop: Shop,
    officer: Staff,
) -> None:
    orders.answer_accepted()
    dsr.register(orders)
    customer = customer_speaking(api, country="DE", locale="en")
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    assert receipt["due_at"] == "2026-02-16T12:00:00Z"  # Sunday 15 February moves to the Monday
    headers = signed_in(api, officer)
    reason = "Your orders span three systems and twelve years; gathering them needs more time."

    extended = api.http.post(f"/v1/dsr/{receipt['id']}/extend", json={"reason": reason}, headers=headers)

    assert extended.status_code == 200, extended.text
    body = extended.json()
    assert body["extended"] is True
    assert body["due_at"] == "2026-04-16T12:00:00Z", "two further months after the first"
    assert body["extension"]["reason"] == reason
    dsr.deliver()
    told = notices_of(mailing, receipt["id"])["extended"]
    assert reason in told["text"]
    assert "April 16, 2026" in told["text"]
    again = api.http.post(f"/v1/dsr/{receipt['id']}/extend", json={"reason": "more"}, headers=headers)
    assert_problem(again, 409, "extension_not_allowed")
    assert view(api, receipt["id"], headers)["due_at"] == "2026-04-16T12:00:00Z"
    # The subject sees the extension and its reason on their request.
    mine = view(api, receipt["id"], api.tokens(customer.email, customer.password).headers)
    assert mine["extension"]["reason"] == reason


def test_an_extension_after_the_first_period_or_where_the_law_has_none_is_refused(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    dsr_shop: Shop,
    officer: Staff,
    clock: FrozenClock,
) -> None:
    orders.answer_accepted()
    dsr.register(orders)
    in_brazil = customer_speaking(api, country="BR", locale=None)
    lgpd = file(api, dsr_shop.headers, type="access", subject_id=in_brazil.id)
    in_germany = customer_speaking(api, country="DE", locale=None)
    gdpr = file(api, dsr_shop.headers, type="access", subject_id=in_germany.id)
    headers = signed_in(api, officer)

    refused = api.http.post(f"/v1/dsr/{lgpd['id']}/extend", json={"reason": "busy"}, headers=headers)
    assert_problem(refused, 409, "extension_not_allowed")
    assert "allows no extension" in refused.json()["detail"]

    clock.advance(timedelta(days=33))  # past the first period, which ends on Monday 16 February
    late = api.http.post(
        f"/v1/dsr/{gdpr['id']}/extend", json={"reason": "busy"}, headers=signed_in(api, officer)
    )
    assert_problem(late, 409, "extension_not_allowed")
    assert "first period" in late.json()["detail"]
    assert view(api, gdpr["id"], signed_in(api, officer))["extended"] is False


def test_only_an_officer_extends_and_only_with_a_reason(
    api: Api, dsr: DsrDriver, customer: Customer, dsr_shop: Shop, officer: Staff
) -> None:
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    path = f"/v1/dsr/{receipt['id']}/extend"
    assert api.http.post(path, json={"reason": "x"}, headers=dsr_shop.headers).status_code == 403
    me = api.tokens(customer.email, customer.password)
    assert api.http.post(path, json={"reason": "x"}, headers=me.headers).status_code == 403
    headers = signed_in(api, officer)
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 2001}):
        assert_problem(api.http.post(path, json=body, headers=headers), 422, "validation_error")
    assert (
        api.http.post(
            "/v1/dsr/01JNOSUCHREQUEST0000000000/extend", json={"reason": "x"}, headers=headers
        ).status_code
        == 404
    )


# -- the access bundle's Art. 15 information ---------------------------------------------------------


def test_the_bundle_tells_where_the_data_goes_with_each_safeguard_in_the_subjects_language(
    api: Api, dsr: DsrDriver, orders: FakeDownstream
) -> None:
    orders.answer_completed({"orders": [{"id": "o-1"}]})
    dsr.register(orders)
    customer = customer_speaking(api, country="DE", locale="de")
    me = api.tokens(customer.email, customer.password).headers
    receipt = file(api, me, type="access")
    dsr.deliver()
    export = api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=me)
    assert export.status_code == 200, export.text
    with zipfile.ZipFile(io.BytesIO(export.content)) as bundle:
        information = json.loads(bundle.read("article15.json"))
        page = bundle.read("summary.html").decode()
        manifest = json.loads(bundle.read("manifest.json"))

    recipients = {recipient["name"]: recipient for recipient in information["recipients"]}
    china = recipients["fulfilment-cn"]
    assert china["country"] == "CN"
    assert china["transfer"]["third_country"] is True
    assert set(china["transfer"]["mechanisms"]) == {"sccs", "pipl_standard_contract"}
    assert recipients["orders"]["holds_data"] is True, "the system that answered is named"
    assert information["jurisdiction"]["code"] == "eu_gdpr"
    assert information["remedies"]["authorities"], "where to complain"
    assert {"access", "erasure", "portability"} <= {right["right"] for right in information["rights"]}
    assert '<html lang="de">' in page
    assert "Standardvertragsklauseln" in page
    listed = {item["path"] for item in manifest["files"]}
    assert {"article15.json", "summary.html", "data/orders.json", "data/privacy-service.json"} <= listed
