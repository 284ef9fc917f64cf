"""Idempotency keys kept for the retention, then purged by the worker; the approval id kept with an event."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_service.approvals.shop_events import idempotency
from privacy_service.approvals.shop_events import service as shop_events_service
from privacy_service.approvals.shop_events.models import IdempotencyKey
from privacy_service.approvals.shop_events.service import ShopEvent, record_event
from privacy_service.audit import open_details
from privacy_service.audit.actions import Outcome, ShopAction, ShopParty
from privacy_service.audit.models import AuditEvent
from privacy_service.core.clock import FrozenClock
from privacy_service.core.config import Settings
from privacy_service.identity.clients import register_client
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.scopes import Scope
from privacy_service.policy import Policies, load_policies
from privacy_service.work import Work
from privacy_service.worker import default_jobs

EVENT = ShopEvent(
    action=ShopAction("order.amount_change"),
    actor=ShopParty(type="staff_member", id="clerk-7"),
    target=ShopParty(type="order", id="o-1"),
    outcome=Outcome.SUCCESS,
    details={"amount": "12.00"},
)


@pytest.fixture
def policies(settings: Settings) -> Policies:
    return load_policies(settings.effective_policies_dir, environ={})


@pytest.fixture
def client_id(work: Work, credentials: Credentials) -> str:
    return register_client(
        work, digests=credentials.digests, name="shop", scopes=[Scope.AUDIT_WRITE]
    ).client_id


def keys(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(IdempotencyKey)) or 0


def test_the_worker_purges_keys_past_their_retention_and_keeps_the_others(
    work: Work, session: Session, clock: FrozenClock, settings: Settings, client_id: str,
    policies: Policies, credentials: Credentials,
) -> None:  # fmt: skip
    for key in ("old", "new"):
        record_event(
            work, client_id=client_id, event=EVENT, policies=policies, credentials=credentials,
            idempotency_key=key,
        )  # fmt: skip
        clock.advance(settings.idempotency_key_retention - timedelta(minutes=1))
    assert settings.idempotency_key_retention >= timedelta(hours=24)
    [job] = [job for job in default_jobs(settings=settings, provider=work.keyring.provider)
             if job.name == "purge_idempotency_keys"]  # fmt: skip
    job.run(work)
    assert session.scalars(select(IdempotencyKey.key)).all() == ["new"]
    assert idempotency.purge_expired(work, retention=timedelta(0)) == 1
    assert keys(session) == 0


def test_the_approval_that_authorised_an_event_is_kept_beside_the_shop_s_details(
    work: Work, session: Session, client_id: str, policies: Policies, credentials: Credentials,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    used: list[dict[str, Any]] = []

    def use(work: Work, **operation: Any) -> str:
        used.append(operation)
        return "approval-1"

    monkeypatch.setattr(shop_events_service, "use_approval", use)
    token_event = dataclasses.replace(EVENT, approval_token="token")
    recorded = record_event(
        work, client_id=client_id, event=token_event, policies=policies, credentials=credentials
    )
    work.commit()
    event = session.get_one(AuditEvent, recorded.body["id"])
    assert open_details(work, event=event) == {"amount": "12.00", "approval_id": "approval-1"}
    assert used[0]["operation"].details == {"amount": "12.00"}  # the operation as the shop sent it
    assert (used[0]["client_id"], used[0]["token"]) == (client_id, "token")
