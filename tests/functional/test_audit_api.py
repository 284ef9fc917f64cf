"""Compliance officers review the audit trail: list, export, verify, checkpoints; each read is audited."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.api.routes.audit import router
from privacy_service.audit import (
    CheckpointCadence,
    ensure_signing_key,
    seal_pending_events,
    write_checkpoint,
)
from privacy_service.audit.archive import archive_prefix
from privacy_service.audit.models import AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.identity.scopes import Role
from privacy_service.keys.service import Keyring
from privacy_service.vault.service import erase_subject
from privacy_service.work import Workplace
from tests.functional.conftest import Api, Customer, MakeStaff, UserTokens, assert_problem
from tests.unit.audit.tampering import drop_guards, set_columns

EVENTS = "/v1/audit/events"


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The application with the audit router, whether or not main.py includes it yet."""
    if not any(getattr(route, "path", None) == EVENTS for route in app.routes):
        app.include_router(router)
    return app


@pytest.fixture
def officer(api: Api, make_staff: MakeStaff) -> UserTokens:
    staff = make_staff((Role.COMPLIANCE_OFFICER,))
    assert staff.totp is not None
    return api.tokens_with_totp(staff.email, staff.password, staff.totp)


def get(api: Api, officer: UserTokens, path: str = EVENTS, **params: Any) -> httpx.Response:
    response: httpx.Response = api.http.get(path, params=params, headers=officer.headers)
    return response


def items(api: Api, officer: UserTokens, **params: Any) -> list[dict[str, Any]]:
    response = get(api, officer, limit=500, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["next_cursor"] is None
    result: list[dict[str, Any]] = body["items"]
    return result


def seal(workplace: Workplace) -> None:
    """What the worker does: chain the pending events, then sign a checkpoint of the head."""
    provider = workplace.keyring.provider
    with workplace.open() as work:
        seal_pending_events(work)
    with workplace.open() as work:
        ensure_signing_key(work, provider=provider)
        write_checkpoint(work, provider=provider, cadence=CheckpointCadence(), force=True)


def failed_logins(api: Api, customer: Customer, count: int) -> None:
    """Wrong passwords, far enough apart that the throttle's growing delay never answers 429."""
    for _ in range(count):
        assert api.login(customer.email, "not the password").status_code == 401
        api.clock.advance(timedelta(seconds=30))


# -- who may read ----------------------------------------------------------------------------------


def test_a_customer_may_not_read_the_audit_trail(api: Api, customer: Customer) -> None:
    tokens = api.tokens(customer.email, customer.password)
    for path in (EVENTS, f"{EVENTS}/export", "/v1/audit/verify", "/v1/audit/checkpoints"):
        assert_problem(api.http.get(path, headers=tokens.headers), 403, "forbidden")


def test_an_admin_is_not_an_auditor(api: Api, make_staff: MakeStaff) -> None:
    admin = make_staff((Role.ADMIN,))
    assert admin.totp is not None
    tokens = api.tokens_with_totp(admin.email, admin.password, admin.totp)
    assert_problem(api.http.get(EVENTS, headers=tokens.headers), 403, "forbidden")


def test_an_officer_without_a_second_factor_is_refused_with_mfa_required(
    api: Api, make_staff: MakeStaff
) -> None:
    staff = make_staff((Role.COMPLIANCE_OFFICER,), with_totp=False)
    tokens = api.tokens(staff.email, staff.password)
    for path in (EVENTS, f"{EVENTS}/export", "/v1/audit/verify", "/v1/audit/checkpoints"):
        assert_problem(api.http.get(path, headers=tokens.headers), 403, "mfa_required")


def test_without_a_token_the_trail_is_closed(api: Api) -> None:
    assert api.http.get(EVENTS).status_code == 401


# -- listing ---------------------------------------------------------------------------------------


def test_an_officer_lists_the_events_of_real_operations_with_their_details(
    api: Api, customer: Customer, officer: UserTokens
) -> None:
    login = api.login(customer.email, customer.password, ip="198.51.100.7")
    assert login.status_code == 200
    (event,) = items(api, officer, action="authn_login_success", target=f"user:{customer.id}")
    assert event["actor"]["type"] == "client"
    assert event["target"] == {"type": "user", "id": customer.id}
    assert event["outcome"] == "success"
    assert event["request_id"] == login.headers["x-request-id"]
    assert event["seq"] is None
    assert event["hash"] is None
    assert event["prev_hash"] is None
    assert event["at"].endswith("Z")
    assert event["details"]["ip"] == "198.51.100.7"
    assert event["details_state"] == "available"
    assert {"id", "sealed_at"} <= event.keys()


def test_sealed_events_show_their_place_in_the_chain_and_come_first(
    api: Api,
    customer: Customer,
    officer: UserTokens,
    workplace: Workplace,
) -> None:
    seal(workplace)
    failed_logins(api, customer, 1)
    listed = items(api, officer)
    sealed = [event for event in listed if event["seq"] is not None]
    assert sealed
    assert listed[: len(sealed)] == sealed
    assert [event["seq"] for event in sealed] == list(range(1, len(sealed) + 1))
    assert sealed[0]["prev_hash"] == "0" * 64
    for before, after in itertools.pairwise(sealed):
        assert after["prev_hash"] == before["hash"]
    assert listed[-1]["seq"] is None


def test_filters_by_action_actor_target_and_outcome(
    api: Api, customer: Customer, officer: UserTokens
) -> None:
    failed_logins(api, customer, 2)
    assert api.login(customer.email, customer.password).status_code == 200
    failures = items(api, officer, action="authn_login_fail")
    assert len(failures) == 2
    assert {event["outcome"] for event in failures} == {"failure"}
    about_customer = items(api, officer, target=customer.id)
    assert {event["target"]["id"] for event in about_customer} == {customer.id}
    assert {"user_create", "authn_login_fail", "authn_login_success"} <= {e["action"] for e in about_customer}
    assert items(api, officer, target=f"client:{customer.id}") == []
    assert [e["action"] for e in items(api, officer, target=customer.id, outcome="success")].count(
        "authn_login_fail"
    ) == 0
    by_customer = items(api, officer, actor=f"user:{customer.id}")
    assert all(event["actor"] == {"type": "user", "id": customer.id} for event in by_customer)
    shop_actor = failures[0]["actor"]["id"]
    assert len(items(api, officer, actor=f"client:{shop_actor}", action="authn_login_fail")) == 2


def test_filters_by_time_take_since_inclusive_and_until_exclusive(
    api: Api, customer: Customer, officer: UserTokens, clock: FrozenClock
) -> None:
    before = clock.now()
    failed_logins(api, customer, 1)
    clock.advance(timedelta(minutes=1))
    middle = clock.now()
    failed_logins(api, customer, 2)
    assert len(items(api, officer, action="authn_login_fail", since=before.isoformat())) == 3
    assert len(items(api, officer, action="authn_login_fail", until=middle.isoformat())) == 1
    assert len(items(api, officer, action="authn_login_fail", since=middle.isoformat())) == 2
    assert (
        items(
            api,
            officer,
            action="authn_login_fail",
            since=middle.isoformat(),
            until=(middle + timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
        )
        != []
    )


def test_pages_walk_every_event_exactly_once_even_when_sealing_happens_midway(
    api: Api,
    customer: Customer,
    officer: UserTokens,
    workplace: Workplace,
) -> None:
    failed_logins(api, customer, 3)
    seal(workplace)
    failed_logins(api, customer, 4)
    expected = [event["id"] for event in items(api, officer, action="authn_login_fail")]
    assert len(expected) == 7
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"action": "authn_login_fail", "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = get(api, officer, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        seen += [event["id"] for event in body["items"]]
        pages += 1
        if pages == 3:
            seal(workplace)  # the walk is in the unsealed tail: these now move into the chain
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 4


def test_an_erased_subjects_events_still_list_without_their_details(
    api: Api, customer: Customer, officer: UserTokens, workplace: Workplace
) -> None:
    assert api.login(customer.email, customer.password, ip="198.51.100.7").status_code == 200
    with workplace.open() as work:
        erase_subject(work, subject_id=customer.id)
    (event,) = items(api, officer, action="authn_login_success", target=customer.id)
    assert event["details"] is None
    assert event["details_state"] == "erased"
    assert len(items(api, officer, target=customer.id)) >= 2


@pytest.mark.parametrize(
    "params",
    [
        {"outcome": "maybe"},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},
        {"until": "0.5"},  # pydantic's lax datetime read a bare number as seconds since 1970
        {"since": "1767225600"},
        {"since": "2026-01-01"},
        {"since": "2026-01-01T00:00:00+0100"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"actor": "Not A Type:x"},
        {"target": "user:"},
        {"action": "DROP TABLE"},
        {"limit": 0},
        {"limit": 501},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJzIjotMX0"},
    ],
)
def test_invalid_filters_are_a_validation_problem_naming_the_field(
    api: Api, officer: UserTokens, params: dict[str, Any]
) -> None:
    body = assert_problem(get(api, officer, **params), 422, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert fields & set(params), body


# -- export ----------------------------------------------------------------------------------------


def test_the_jsonl_export_streams_every_matching_event(
    api: Api, customer: Customer, officer: UserTokens, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    failed_logins(api, customer, 3)
    response = get(api, officer, f"{EVENTS}/export", format="jsonl", action="authn_login_fail")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["id"] for line in lines] == [e["id"] for e in items(api, officer, action="authn_login_fail")]
    assert len(lines) == 3
    assert all(line["action"] == "authn_login_fail" for line in lines)


def test_the_csv_export_has_a_header_row_and_details_as_json(
    api: Api, customer: Customer, officer: UserTokens
) -> None:
    assert api.login(customer.email, customer.password, ip="198.51.100.7").status_code == 200
    failed_logins(api, customer, 2)
    response = get(api, officer, f"{EVENTS}/export", format="csv", target=customer.id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert ".csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    listed = items(api, officer, target=customer.id)
    assert [row["id"] for row in rows] == [event["id"] for event in listed]
    (login,) = [row for row in rows if row["action"] == "authn_login_success"]
    assert json.loads(login["details"])["ip"] == "198.51.100.7"
    assert login["target_id"] == customer.id
    assert login["outcome"] == "success"


def test_the_export_refuses_a_bare_number_as_a_time(api: Api, officer: UserTokens) -> None:
    body = assert_problem(get(api, officer, f"{EVENTS}/export", until="0.5"), 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["until"]


def test_an_unknown_export_format_is_a_validation_problem(api: Api, officer: UserTokens) -> None:
    body = assert_problem(get(api, officer, f"{EVENTS}/export", format="xml"), 422, "validation_error")
    assert body["errors"][0]["field"] == "format"


# -- verification and checkpoints ------------------------------------------------------------------


def test_verify_reports_an_intact_sealed_chain(
    api: Api,
    customer: Customer,
    officer: UserTokens,
    workplace: Workplace,
) -> None:
    failed_logins(api, customer, 2)
    seal(workplace)
    response = get(api, officer, "/v1/audit/verify")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True
    assert report["first_bad_seq"] is None
    assert report["problem"] is None
    assert report["events_checked"] == report["last_seq"] >= 2
    assert report["last_checkpoint"]["seq"] == report["last_seq"]


def test_verify_says_how_far_retention_archived_and_verifies_the_rest_from_there(
    api: Api,
    customer: Customer,
    officer: UserTokens,
    clock: FrozenClock,
    workplace: Workplace,
) -> None:
    failed_logins(api, customer, 2)
    seal(workplace)
    assert get(api, officer, "/v1/audit/verify").json()["archived_through"] is None
    cutoff = clock.now()
    failed_logins(api, customer, 1)
    seal(workplace)
    with workplace.open() as work:
        statement = archive_prefix(work, provider=work.keyring.provider, before=cutoff, out=io.BytesIO())
    assert statement is not None
    report = get(api, officer, "/v1/audit/verify").json()
    assert report["ok"] is True
    assert report["archived_through"] == statement.through_seq
    assert report["events_checked"] == report["last_seq"] - statement.through_seq


def test_verify_locates_an_altered_event(
    api: Api, customer: Customer, officer: UserTokens, sessions: sessionmaker[Session], workplace: Workplace
) -> None:
    failed_logins(api, customer, 2)
    seal(workplace)
    with sessions.begin() as session:
        drop_guards(session)
        seq = session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "authn_login_fail"))
        assert seq is not None
        set_columns(session, seq, outcome="success")
    report = get(api, officer, "/v1/audit/verify").json()
    assert (report["ok"], report["first_bad_seq"], report["problem"]) == (False, seq, "altered")


def test_checkpoints_are_listed_oldest_first_in_pages(
    api: Api,
    customer: Customer,
    officer: UserTokens,
    workplace: Workplace,
) -> None:
    for _ in range(3):
        failed_logins(api, customer, 1)
        seal(workplace)
    first = get(api, officer, "/v1/audit/checkpoints", limit=2).json()
    assert [item["number"] for item in first["items"]] == [1, 2]
    rest = get(api, officer, "/v1/audit/checkpoints", limit=2, cursor=first["next_cursor"]).json()
    assert [item["number"] for item in rest["items"]] == [3]
    assert rest["next_cursor"] is None
    checkpoint = first["items"][1]
    assert {"seq", "hash", "at", "signature", "key_id"} <= checkpoint.keys()
    assert len(bytes.fromhex(checkpoint["signature"])) == 64
    assert_problem(get(api, officer, "/v1/audit/checkpoints", cursor="garbage"), 422, "validation_error")


# -- reading is audited ----------------------------------------------------------------------------


def test_every_read_of_the_trail_is_itself_an_audit_read_event(
    api: Api, make_staff: MakeStaff, sessions: sessionmaker[Session], keyring: Keyring
) -> None:
    staff = make_staff((Role.COMPLIANCE_OFFICER,))
    assert staff.totp is not None
    officer = api.tokens_with_totp(staff.email, staff.password, staff.totp)
    assert get(api, officer, action="authn_login_fail").status_code == 200
    assert get(api, officer, f"{EVENTS}/export", format="csv").status_code == 200
    assert get(api, officer, "/v1/audit/verify").status_code == 200
    assert get(api, officer, "/v1/audit/checkpoints").status_code == 200
    reads = items(api, officer, action="audit_read")
    assert len(reads) == 4
    assert all(read["actor"] == {"type": "user", "id": staff.id} for read in reads)
    assert all(read["target"] == {"type": "audit_trail", "id": "audit"} for read in reads)
    assert [read["details"]["endpoint"] for read in reads] == ["events", "export", "verify", "checkpoints"]
    assert reads[0]["details"]["filters"] == {"action": "authn_login_fail"}
    assert reads[1]["details"]["format"] == "csv"
    # The list that showed them was itself recorded.
    assert len(items(api, officer, action="audit_read")) == 5
