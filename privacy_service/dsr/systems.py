"""The registry of downstream systems: those declared in ``policies/`` and those registered through the API.

A system in ``policies/`` is configuration (its secret comes from the
environment); one registered through ``POST /v1/systems`` lives in the
database with its secret encrypted under a data key of its own. The fan-out sees
both the same way, as ``SystemTarget``s. Names are unique across the two.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, Party, PartyType
from privacy_service.connectors import is_webhook_secret
from privacy_service.core.ids import new_id
from privacy_service.dsr.errors import InvalidSystem, SystemDeclaredInPolicies, SystemExists, SystemNotFound
from privacy_service.dsr.models import DownstreamSystem
from privacy_service.keys.fields import SubjectFields
from privacy_service.policy import Policies, SystemRequestType, SystemSpec
from privacy_service.policy.systems import OWN_SYSTEM
from privacy_service.work import Work

SECRET_COLUMN = "secret"  # noqa: S105 - a column name, not a secret


class SystemSource(StrEnum):
    API = "api"
    POLICIES = "policies"


@dataclass(frozen=True)
class SystemDescription:
    """A downstream system as listings and filings see it: everything but its secret."""

    name: str
    url: str
    request_types: frozenset[SystemRequestType]
    categories: tuple[str, ...]
    timeout_seconds: float
    source: SystemSource


@dataclass(frozen=True)
class SystemTarget(SystemDescription):
    """A system as deliveries and callbacks see it: with its secret, so never log or return it."""

    secret: str = field(repr=False, kw_only=True)

    @classmethod
    def of(cls, description: SystemDescription, *, secret: str) -> SystemTarget:
        values = {item.name: getattr(description, item.name) for item in dataclasses.fields(description)}
        return cls(**values, secret=secret)


def _described_spec(spec: SystemSpec) -> SystemDescription:
    return SystemDescription(
        name=spec.name,
        url=spec.url,
        request_types=spec.request_types,
        categories=tuple(spec.categories),
        timeout_seconds=spec.timeout_seconds,
        source=SystemSource.POLICIES,
    )


def _described_row(row: DownstreamSystem) -> SystemDescription:
    return SystemDescription(
        name=row.name,
        url=row.url,
        request_types=frozenset(SystemRequestType(kind) for kind in row.request_types.split()),
        categories=tuple(json.loads(row.categories)),
        timeout_seconds=row.timeout_seconds,
        source=SystemSource.API,
    )


def _fields(work: Work, *, row: DownstreamSystem) -> SubjectFields:
    return work.subject_fields(table=DownstreamSystem.__tablename__, subject_id=row.key_owner)


def _target(work: Work, *, row: DownstreamSystem) -> SystemTarget:
    secret = _fields(work, row=row).open(SECRET_COLUMN, row.secret)
    assert secret is not None
    return SystemTarget.of(_described_row(row), secret=secret)


def describe_systems(*, session: Session, policies: Policies) -> list[SystemDescription]:
    """Every downstream system, policies' first, then the registered ones by name; no secret is opened."""
    rows = session.scalars(select(DownstreamSystem).order_by(DownstreamSystem.name)).all()
    return [_described_spec(spec) for spec in policies.systems] + [_described_row(row) for row in rows]


def systems_taking(*, session: Session, policies: Policies, request_type: SystemRequestType) -> list[str]:
    """The names of the systems that take ``request_type`` (one task each)."""
    return [
        system.name
        for system in describe_systems(session=session, policies=policies)
        if request_type in system.request_types
    ]


def find_target(work: Work, *, policies: Policies, name: str) -> SystemTarget | None:
    """The system ``name`` with its secret opened, for a delivery or a callback; None if it is gone."""
    for spec in policies.systems:
        if spec.name == name:
            return SystemTarget.of(_described_spec(spec), secret=spec.secret)
    row = work.session.get(DownstreamSystem, name)
    return None if row is None else _target(work, row=row)


def register_system(
    work: Work,
    *,
    policies: Policies,
    actor: Party,
    name: str,
    url: str,
    secret: str,
    request_types: Iterable[SystemRequestType],
    categories: Iterable[str],
    timeout_seconds: float,
) -> SystemDescription:
    """Register a system; its secret is encrypted at once and never shown again."""
    if not is_webhook_secret(secret):
        raise InvalidSystem(
            "secret must be a Standard Webhooks secret: whsec_ and base64 of 24 bytes or more."
        )
    if name == OWN_SYSTEM:
        raise InvalidSystem(f"{OWN_SYSTEM} is the service's own name; choose another.")
    if any(spec.name == name for spec in policies.systems):
        raise SystemDeclaredInPolicies()
    if work.session.get(DownstreamSystem, name) is not None:
        raise SystemExists()
    key_owner = f"system:{new_id()}"
    key = work.keyring.create(session=work.session, subject_id=key_owner)
    fields = SubjectFields(key=key, table=DownstreamSystem.__tablename__, subject_id=key_owner)
    kinds = sorted(set(request_types))
    row = DownstreamSystem(
        name=name,
        key_owner=key_owner,
        url=url,
        secret=fields.encrypt(SECRET_COLUMN, secret),
        request_types=" ".join(kinds),
        categories=json.dumps(sorted(set(categories))),
        timeout_seconds=timeout_seconds,
        created_at=work.clock.now(),
    )
    work.session.add(row)
    work.session.flush()
    audit.record(
        work,
        actor=actor,
        action=Action.SYSTEM_CREATE,
        target=Party(type=PartyType.DOWNSTREAM_SYSTEM, id=name),
        outcome=Outcome.SUCCESS,
        details={"request_types": kinds},
    )
    return _described_row(row)


def unregister_system(work: Work, *, policies: Policies, actor: Party, name: str) -> None:
    """Remove a registered system and shred the key of its secret; open tasks for it then fail."""
    if any(spec.name == name for spec in policies.systems):
        raise SystemDeclaredInPolicies()
    row = work.session.get(DownstreamSystem, name)
    if row is None:
        raise SystemNotFound()
    work.keyring.shred(session=work.session, subject_id=row.key_owner)
    work.session.delete(row)
    audit.record(
        work,
        actor=actor,
        action=Action.SYSTEM_DELETE,
        target=Party(type=PartyType.DOWNSTREAM_SYSTEM, id=name),
        outcome=Outcome.SUCCESS,
    )
