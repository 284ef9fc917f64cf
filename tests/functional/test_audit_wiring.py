"""Every sensitive operation leaves an audit event in its own transaction, naming people by id only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.models import AuditEvent
from privacy_service.audit.recorder import open_details
from privacy_service.work import Workplace
from tests.functional.conftest import Api, Customer, Shop, bearer


def events(sessions: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.at))
        )


def test_a_successful_login_is_recorded_against_the_user_by_id(
    api: Api, customer: Customer, shop: Shop, sessions: sessionmaker[Session], workplace: Workplace
) -> None:
    response = api.login(customer.email, customer.password, ip="198.51.100.7")
    assert response.status_code == 200
    (event,) = events(sessions, "authn_login_success")
    assert (event.actor_type, event.actor_id) == ("client", shop.client_id)
    assert (event.target_type, event.target_id) == ("user", customer.id)
    assert event.outcome == "success"
    assert event.request_id == response.headers["x-request-id"]
    # The end user's IP is personal data: encrypted under the customer's key, readable with it.
    assert b"198.51.100.7" not in (event.details or b"")
    with workplace.open() as work:
        details = open_details(work, event=event)
    assert details is not None
    assert details["ip"] == "198.51.100.7"


def test_failed_logins_are_recorded_and_an_unknown_email_is_never_written_down(
    api: Api, customer: Customer, sessions: sessionmaker[Session]
) -> None:
    assert api.login(customer.email, "not the password").status_code == 401
    assert api.login("nobody@example.org", "not the password").status_code == 401
    known, unknown = events(sessions, "authn_login_fail")
    assert (known.target_id, known.outcome) == (customer.id, "failure")
    assert unknown.target_id == "unknown"
    assert unknown.details is None
    for event in (known, unknown):
        assert customer.email.encode() not in (event.details or b"")
        assert "example.org" not in (event.target_id + event.actor_id)


def test_a_registration_is_recorded_as_user_create_by_the_shop(
    customer: Customer, shop: Shop, sessions: sessionmaker[Session]
) -> None:
    created = [event for event in events(sessions, "user_create") if event.target_id == customer.id]
    assert len(created) == 1
    assert created[0].actor_id == shop.client_id


def test_a_shop_reading_a_record_is_a_sensitive_read_and_writing_one_a_sensitive_update(
    api: Api, customer: Customer, vault_shop: Shop, sessions: sessionmaker[Session]
) -> None:
    path = f"/v1/subjects/{customer.id}/records/address"
    assert api.http.put(path, json={"city": "Lyon"}, headers=vault_shop.headers).status_code == 204
    assert api.http.get(path, headers=vault_shop.headers).status_code == 200
    assert api.http.get(f"/v1/subjects/{customer.id}/profile", headers=vault_shop.headers).status_code == 200
    (update,) = events(sessions, "sensitive_update")
    reads = events(sessions, "sensitive_read")
    assert (update.actor_id, update.target_type, update.target_id) == (
        vault_shop.client_id,
        "subject",
        customer.id,
    )
    assert [(read.actor_id, read.target_id) for read in reads] == [(vault_shop.client_id, customer.id)] * 2
    assert all(b"Lyon" not in (event.details or b"") for event in [update, *reads])


def test_reusing_a_refresh_token_is_recorded_as_token_reuse(
    api: Api, customer: Customer, sessions: sessionmaker[Session]
) -> None:
    tokens = api.tokens(customer.email, customer.password)
    assert api.refresh(tokens.refresh_token).status_code == 200
    assert api.refresh(tokens.refresh_token).status_code == 400
    (event,) = events(sessions, "authn_token_reuse")
    assert (event.target_id, event.outcome) == (customer.id, "failure")


def test_turning_totp_on_and_changing_the_password_are_recorded(
    api: Api, customer: Customer, sessions: sessionmaker[Session]
) -> None:
    tokens = api.tokens(customer.email, customer.password)
    api.enrol_totp(tokens)
    (enabled,) = events(sessions, "mfa_enable")
    assert (enabled.actor_id, enabled.target_id) == (customer.id, customer.id)
    wrong = api.http.post(
        "/v1/me/password",
        json={"current_password": "wrong one", "new_password": "an entirely new passphrase"},
        headers=bearer(tokens.access_token),
    )
    assert wrong.status_code == 401
    assert [event.outcome for event in events(sessions, "authn_password_change")] == ["failure"]
