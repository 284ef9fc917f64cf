"""Data subject requests through HTTP, fanned out to real downstream systems on loopback."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.models import AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.identity.scopes import Scope
from privacy_service.work import Workplace
from privacy_service.worker import Worker, build_worker
from tests.functional.conftest import Api, Customer, MakeShop, Shop, Staff, assert_problem
from tests.functional.dsr_support import DsrDriver, file, signed_in, task_of, view
from tests.support.downstream import FakeDownstream, ReceivedDelivery


def test_an_access_request_is_answered_by_every_system_and_exported_to_the_subject_only(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, make_customer: object
) -> None:
    orders.answer_completed({"orders": [{"id": "o-1", "total": "12.50"}]})
    dsr.register(orders)
    me = api.tokens(customer.email, customer.password)

    receipt = file(api, me.headers, type="access")
    assert receipt["status"] == "received"
    # GDPR: one month after 2026-01-15 12:00 is Sunday 15 February, so Monday 16 February (DE).
    assert receipt["due_at"] == "2026-02-16T12:00:00Z"

    assert dsr.deliver() == 1
    [delivery] = orders.deliveries
    assert delivery.payload["type"] == "dsr.access"
    assert delivery.payload["subject"]["email"] == customer.email
    assert delivery.webhook_id == delivery.headers["webhook-id"]

    answered = view(api, receipt["id"], me.headers)
    assert answered["status"] == "completed"
    assert task_of(answered, "orders")["status"] == "completed"

    export = api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=me.headers)
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as bundle:
        names = set(bundle.namelist())
        assert {"manifest.json", "summary.html", "data/orders.json", "data/privacy-service.json"} <= names
        assert json.loads(bundle.read("data/orders.json"))["data"]["orders"][0]["id"] == "o-1"
        own = json.loads(bundle.read("data/privacy-service.json"))
        assert own["profile"]["email"] == customer.email
        assert own["login_history"], "the sign-in that filed the request is in the history"
        manifest = json.loads(bundle.read("manifest.json"))
        listed = {item["path"] for item in manifest["files"]}
        assert listed == names - {"manifest.json"}

    other = make_customer()  # type: ignore[operator]
    other_tokens = api.tokens(other.email, other.password)
    assert_problem(
        api.http.get(f"/v1/dsr/{receipt['id']}/export", headers=other_tokens.headers), 404, "not_found"
    )
    assert_problem(api.http.get(f"/v1/dsr/{receipt['id']}", headers=other_tokens.headers), 404, "not_found")


def test_an_asynchronous_system_completes_by_a_signed_callback_which_cannot_be_replayed_or_forged(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, clock: FrozenClock
) -> None:
    orders.answer_accepted()
    dsr.register(orders)
    me = api.tokens(customer.email, customer.password)
    receipt = file(api, me.headers, type="access")
    dsr.deliver()
    waiting = view(api, receipt["id"], me.headers)
    assert (waiting["status"], task_of(waiting, "orders")["status"]) == ("in_progress", "waiting")
    [delivery] = orders.deliveries

    forged = FakeDownstream(name="orders").signed_callback(delivery, data={"x": 1}, timestamp=clock.now())
    answer = api.http.post(
        forged.url.replace("http://127.0.0.1:8000", ""), content=forged.body, headers=forged.headers
    )
    assert_problem(answer, 401, "invalid_signature")

    stale = orders.signed_callback(delivery, data={"x": 1}, timestamp=clock.now() - timedelta(minutes=6))
    answer = api.http.post(
        stale.url.replace("http://127.0.0.1:8000", ""), content=stale.body, headers=stale.headers
    )
    assert_problem(answer, 401, "invalid_signature")

    callback = orders.signed_callback(delivery, data={"tickets": [7]}, timestamp=clock.now())
    path = callback.url.replace("http://127.0.0.1:8000", "")
    first = api.http.post(path, content=callback.body, headers=callback.headers)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "completed"
    assert_problem(
        api.http.post(path, content=callback.body, headers=callback.headers), 409, "callback_replayed"
    )

    again = orders.signed_callback(delivery, data={"tickets": [8]}, timestamp=clock.now())
    assert_problem(api.http.post(path, content=again.body, headers=again.headers), 409, "task_closed")
    assert view(api, receipt["id"], me.headers)["status"] == "completed"


def test_the_request_is_closed_by_the_service_itself_in_the_trail_and_each_task_by_its_system(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    dsr_shop: Shop,
    sessions: sessionmaker[Session],
) -> None:
    orders.answer_completed({"orders": []})
    dsr.register(orders)
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    dsr.deliver()
    assert view(api, receipt["id"], dsr_shop.headers)["status"] == "completed"

    with sessions() as session:
        actors = {
            event.action: (event.actor_type, event.actor_id)
            for event in session.scalars(select(AuditEvent).where(AuditEvent.target_id == receipt["id"]))
        }
    assert actors["dsr_task_complete"] == ("downstream_system", "orders")
    assert actors["dsr_complete"] == ("system", "privacy-service")


def _two_waiting_tasks(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, make_customer: object, dsr_shop: Shop
) -> tuple[list[dict[str, object]], list[ReceivedDelivery]]:
    """Two customers' access requests, each waiting for ``orders`` to call back."""
    orders.answer_accepted()
    dsr.register(orders)
    receipts = [
        file(api, dsr_shop.headers, type="access", subject_id=make_customer().id)  # type: ignore[operator]
        for _ in range(2)
    ]
    assert dsr.deliver() == 2
    deliveries = sorted(
        orders.deliveries, key=lambda delivery: delivery.payload["request_id"] != receipts[0]["id"]
    )
    return receipts, deliveries


def _refusals(sessions: sessionmaker[Session]) -> list[tuple[str, str | None, bytes | None]]:
    with sessions() as session:
        return [
            (event.target_id, event.actor_id, event.details)
            for event in session.scalars(select(AuditEvent).where(AuditEvent.action == "dsr_callback_refuse"))
        ]


def test_a_callback_captured_for_one_task_and_replayed_to_another_task_of_the_system_is_refused(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    make_customer: object,
    dsr_shop: Shop,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
) -> None:
    (alice, bob), (to_alice, to_bob) = _two_waiting_tasks(api, dsr, orders, make_customer, dsr_shop)
    captured = orders.signed_callback(to_alice, data={"orders": ["alice's"]}, timestamp=clock.now())

    # Byte for byte to Bob's task: the signature holds (it does not cover the URL); the task_id does not.
    replayed = api.http.post(_path(to_bob.callback_url), content=captured.body, headers=captured.headers)
    assert_problem(replayed, 409, "callback_task_mismatch")
    assert task_of(view(api, bob["id"], dsr_shop.headers), "orders")["status"] == "waiting"
    assert _refusals(sessions) == [
        (
            bob["id"],
            "orders",
            json.dumps(
                {"reason": "callback_task_mismatch", "task_id": to_bob.task_id},
                sort_keys=True,
                separators=(",", ":"),
            ).encode(),
        )
    ]

    # Bob's own body under the webhook-id already taken for Alice's task: refused too, once Alice's is in.
    assert (
        api.http.post(_path(captured.url), content=captured.body, headers=captured.headers).status_code == 200
    )
    reused = orders.signed_callback(
        to_bob, data={"orders": []}, timestamp=clock.now(), webhook_id=captured.headers["webhook-id"]
    )
    assert_problem(
        api.http.post(_path(reused.url), content=reused.body, headers=reused.headers),
        409,
        "callback_replayed",
    )
    assert task_of(view(api, bob["id"], dsr_shop.headers), "orders")["status"] == "waiting"
    assert view(api, alice["id"], dsr_shop.headers)["status"] == "completed"
    assert len(_refusals(sessions)) == 2

    own = orders.signed_callback(to_bob, data={"orders": ["bob's"]}, timestamp=clock.now())
    assert api.http.post(_path(own.url), content=own.body, headers=own.headers).status_code == 200
    assert view(api, bob["id"], dsr_shop.headers)["status"] == "completed"


def test_a_signed_callback_that_names_no_task_is_refused_and_the_task_waits(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    make_customer: object,
    dsr_shop: Shop,
    clock: FrozenClock,
    sessions: sessionmaker[Session],
) -> None:
    (alice, _), (to_alice, _) = _two_waiting_tasks(api, dsr, orders, make_customer, dsr_shop)
    for body in (b'{"status":"completed","data":{}}', b'{"status":"completed","task_id":7}', b"[]"):
        unbound = orders.signed_callback(to_alice, body=body, timestamp=clock.now())
        answer = api.http.post(_path(unbound.url), content=unbound.body, headers=unbound.headers)
        assert_problem(answer, 422, "callback_task_id_required")
    assert task_of(view(api, alice["id"], dsr_shop.headers), "orders")["status"] == "waiting"
    assert len(_refusals(sessions)) == 3


def test_a_webhook_id_is_one_systems_own_another_system_may_use_the_same(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, dsr_shop: Shop, clock: FrozenClock
) -> None:
    with FakeDownstream(name="tickets") as tickets:
        for system in (orders, tickets):
            system.answer_accepted()
            dsr.register(system)
        receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
        assert dsr.deliver() == 2
        for system in (orders, tickets):
            [delivery] = system.deliveries
            callback = system.signed_callback(delivery, timestamp=clock.now(), webhook_id="msg_1")
            answer = api.http.post(_path(callback.url), content=callback.body, headers=callback.headers)
            assert answer.status_code == 200, answer.text
    assert view(api, receipt["id"], dsr_shop.headers)["status"] == "completed"


def _path(url: str) -> str:
    return url.replace("http://127.0.0.1:8000", "")


def test_one_open_request_per_type_and_subject_a_repeat_is_refused_and_named_until_it_ends(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, dsr_shop: Shop
) -> None:
    orders.answer_accepted()
    dsr.register(orders)
    first = file(api, dsr_shop.headers, type="access", subject_id=customer.id)

    for _ in range(3):
        repeat = api.http.post(
            "/v1/dsr", json={"type": "access", "subject_id": customer.id}, headers=dsr_shop.headers
        )
        assert assert_problem(repeat, 409, "request_already_open")["open_request_id"] == first["id"]
    me = api.tokens(customer.email, customer.password)
    assert_problem(
        api.http.post("/v1/dsr", json={"type": "access"}, headers=me.headers), 409, "request_already_open"
    )
    dsr.deliver()
    [delivery] = orders.deliveries
    assert (
        orders.complete_by_callback(
            delivery, post=lambda url, **sent: api.http.post(_path(url), **sent), timestamp=api.clock.now()
        ).status_code
        == 200
    )
    assert view(api, first["id"], dsr_shop.headers)["status"] == "completed"

    again = file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    assert again["id"] != first["id"]


def test_a_system_down_for_the_first_attempts_is_retried_with_the_same_webhook_id(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, clock: FrozenClock, dsr_shop: Shop
) -> None:
    orders.fail_first(2)
    orders.answer_completed({"orders": []})
    dsr.register(orders)
    receipt = file(api, dsr_shop.headers, type="access", subject_id=customer.id)

    dsr.deliver()
    after_first = task_of(view(api, receipt["id"], dsr_shop.headers), "orders")
    assert (after_first["status"], after_first["attempts"]) == ("pending", 1)
    assert after_first["last_error"] == "HTTP 503 from the system"
    assert dsr.deliver() == 0, "nothing is sent again before the backoff has passed"

    for _ in range(2):
        clock.advance(timedelta(hours=2))  # beyond any backoff of the first attempts
        assert dsr.deliver() == 1
    done = view(api, receipt["id"], dsr_shop.headers)
    assert done["status"] == "completed"
    assert task_of(done, "orders")["attempts"] == 3
    assert len(orders.deliveries) == 3
    assert {attempt.webhook_id for attempt in orders.deliveries} == {f"msg_{task_of(done, 'orders')['id']}"}


def test_a_system_that_never_answers_fails_at_the_deadline_and_the_officer_sees_why(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    clock: FrozenClock,
    officer: Staff,
) -> None:
    with FakeDownstream(name="mailing") as mailing:
        mailing.never_answer()
        orders.answer_completed({"orders": []})
        dsr.register(orders)
        dsr.register(mailing, timeout_seconds=0.3)
        me = api.tokens(customer.email, customer.password)
        receipt = file(api, me.headers, type="access")
        dsr.deliver()
        pending = task_of(view(api, receipt["id"], me.headers), "mailing")
        assert pending["status"] == "pending"
        assert "timed out" in pending["last_error"]

        clock.advance(timedelta(days=33))  # past the deadline (Monday 16 February), without sleeping
        overdue = api.http.get("/v1/dsr", params={"overdue": "true"}, headers=signed_in(api, officer))
        assert receipt["id"] in [item["id"] for item in overdue.json()["items"]]
        dsr.close()

    headers = signed_in(api, officer)
    ended = view(api, receipt["id"], headers)
    assert ended["status"] == "partially_completed"
    failed = task_of(ended, "mailing")
    assert failed["status"] == "failed"
    assert "timed out" in failed["last_error"]
    assert "deadline" in failed["last_error"]
    assert customer.email not in failed["last_error"]
    queue = api.http.get("/v1/dsr", params={"overdue": "true"}, headers=headers).json()
    assert receipt["id"] not in [item["id"] for item in queue["items"]]


def test_an_erasure_reaches_every_system_keeps_what_the_law_holds_and_erases_the_subject_here(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, dsr_shop: Shop, vault_shop: Shop
) -> None:
    orders.answer_completed(
        retained=[{"category": "invoices", "reason": "HGB §257, AO §147", "until": "2036-12-31"}]
    )
    dsr.register(orders, categories=("invoices", "orders"))
    receipt = file(api, dsr_shop.headers, type="erasure", subject_id=customer.id)
    dsr.deliver()
    payload = orders.deliveries[0].payload
    assert payload["type"] == "dsr.erasure"
    # The customer lives in Germany: the system is told what German law makes it keep, and why.
    assert [hold["category"] for hold in payload["legal_holds"]] == ["invoices"]
    assert "AO §147" in payload["legal_holds"][0]["legal_basis"]

    ended = view(api, receipt["id"], dsr_shop.headers)
    assert ended["status"] == "completed"
    assert task_of(ended, "orders")["retained"] == [
        {"category": "invoices", "reason": "HGB §257, AO §147", "until": "2036-12-31"}
    ]
    assert api.login(customer.email, customer.password).status_code == 401
    profile = api.http.get(f"/v1/subjects/{customer.id}/profile", headers=vault_shop.headers)
    assert profile.status_code in {404, 410}


def test_who_may_file_a_request(
    api: Api, customer: Customer, make_shop: MakeShop, dsr_shop: Shop, make_customer: object
) -> None:
    me = api.tokens(customer.email, customer.password)
    other = make_customer()  # type: ignore[operator]
    for_other = {"type": "access", "subject_id": other.id}
    assert_problem(api.http.post("/v1/dsr", json=for_other, headers=me.headers), 403, "forbidden")
    no_subject = api.http.post("/v1/dsr", json={"type": "access"}, headers=dsr_shop.headers)
    assert_problem(no_subject, 422, "validation_error")
    no_scope = make_shop(Scope.VAULT_READ, name="reader")
    for_customer = {"type": "access", "subject_id": customer.id}
    assert_problem(api.http.post("/v1/dsr", json=for_customer, headers=no_scope.headers), 403, "forbidden")
    for_nobody = {"type": "access", "subject_id": "nobody"}
    assert_problem(
        api.http.post("/v1/dsr", json=for_nobody, headers=dsr_shop.headers), 404, "subject_not_found"
    )
    assert_problem(
        api.http.post("/v1/dsr", json={"type": "portability"}, headers=me.headers), 422, "validation_error"
    )
    assert_problem(api.http.get("/v1/dsr", headers=me.headers), 403, "forbidden")


def test_a_customer_files_only_soon_after_signing_in_and_with_their_second_factor(
    api: Api, customer: Customer, clock: FrozenClock
) -> None:
    me = api.tokens(customer.email, customer.password)
    clock.advance(timedelta(minutes=16))
    refreshed = api.refresh(me.refresh_token).json()
    stale = {"Authorization": f"Bearer {refreshed['access_token']}"}
    assert_problem(
        api.http.post("/v1/dsr", json={"type": "access"}, headers=stale), 403, "recent_login_required"
    )

    fresh = api.tokens(customer.email, customer.password)
    api.enrol_totp(fresh)  # now enrolled, but this session proved only the password
    assert_problem(
        api.http.post("/v1/dsr", json={"type": "erasure"}, headers=fresh.headers), 403, "mfa_required"
    )


def test_after_a_customers_own_erasure_the_shop_they_signed_in_through_still_sees_what_was_kept(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, shop: Shop, dsr_shop: Shop
) -> None:
    orders.answer_completed(retained=[{"category": "invoices", "reason": "tax law", "until": "2034-12-31"}])
    dsr.register(orders)
    me = api.tokens(customer.email, customer.password)
    receipt = file(api, me.headers, type="erasure")
    dsr.deliver()

    assert api.http.get(f"/v1/dsr/{receipt['id']}", headers=me.headers).status_code == 401  # account gone
    seen_by_shop = view(api, receipt["id"], shop.headers)
    assert seen_by_shop["status"] == "completed"
    assert task_of(seen_by_shop, "orders")["retained"][0]["reason"] == "tax law"
    assert_problem(api.http.get(f"/v1/dsr/{receipt['id']}", headers=dsr_shop.headers), 404, "not_found")


def test_filing_a_request_wakes_the_worker_of_this_process_at_its_commit(
    api: Api,
    workplace: Workplace,
    settings: Settings,
    dsr: DsrDriver,
    orders: FakeDownstream,
    dsr_shop: Shop,
    customer: Customer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    woken: list[bool] = []
    # Patched on the class: build_worker hands the fulfilment the worker's bound ``wake`` as it builds it.
    monkeypatch.setattr(Worker, "wake", lambda _worker: woken.append(True))
    build_worker(settings=settings, workplace=workplace, fulfilment=dsr.fulfilment)
    api.http.get("/v1/dsr/nothing", headers=dsr_shop.headers)
    assert woken == [], "a commit without new tasks does not wake it"

    dsr.register(orders)
    file(api, dsr_shop.headers, type="access", subject_id=customer.id)
    assert woken == [True]
