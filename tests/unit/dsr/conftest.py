"""Fixtures of the DSR unit tests: the shipped policies, a fulfilment over an in-memory connector, customers.

Customers are registered through ``identity.accounts.register_user`` (a
subject, their profile, data key and account), and requests are filed and
ended through the DSR services, never by writing rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from privacy_service.connectors import InMemoryConnector
from privacy_service.core.config import Settings
from privacy_service.dsr import service
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrRequest
from privacy_service.identity.accounts import register_user
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.principals import Principal, PrincipalKind
from privacy_service.identity.scopes import Scope
from privacy_service.keys.service import Keyring
from privacy_service.policy import Policies, RequestType, load_policies
from privacy_service.work import Work

SHIPPED_POLICIES = Path(__file__).resolve().parents[3] / "policies"
PASSWORD = "Tandem-Lighthouse-42"

NewCustomer = Callable[..., str]
FileRequest = Callable[..., DsrRequest]


@pytest.fixture
def policies() -> Policies:
    return load_policies(SHIPPED_POLICIES, environ={})


@pytest.fixture
def connector() -> InMemoryConnector:
    return InMemoryConnector()


@pytest.fixture
def fulfilment(
    settings: Settings,
    policies: Policies,
    connector: InMemoryConnector,
    keyring: Keyring,
    credentials: Credentials,
) -> Fulfilment:
    return Fulfilment.from_settings(
        settings, policies=policies, connector=connector, keyring=keyring, emails=credentials.emails
    )


@pytest.fixture
def shop_backend() -> Principal:
    """A shop backend holding ``dsr:write``, as its access token would describe it."""
    client_id = f"client-{uuid.uuid4().hex[:12]}"
    return Principal(
        kind=PrincipalKind.CLIENT, id=client_id, client_id=client_id, scopes=frozenset({Scope.DSR_WRITE})
    )


@pytest.fixture
def new_customer(work: Work, credentials: Credentials) -> NewCustomer:
    """Register a customer (subject, profile, data key, account); return their id."""

    def create(*, email: str | None = None, **profile: object) -> str:
        user = register_user(
            work,
            emails=credentials.emails,
            passwords=credentials.passwords,
            email=email or f"customer-{uuid.uuid4().hex[:10]}@example.net",
            password=PASSWORD,
            profile={"country": "DE", **profile},
        )
        return user.id

    return create


@pytest.fixture
def file_request(work: Work, fulfilment: Fulfilment, shop_backend: Principal) -> FileRequest:
    """File a request on a subject's behalf, as a shop backend does."""

    def file(subject_id: str, request_type: RequestType = RequestType.ACCESS) -> DsrRequest:
        return service.file_request(
            work,
            fulfilment=fulfilment,
            requester=shop_backend,
            request_type=request_type,
            subject_id=subject_id,
        )

    return file
