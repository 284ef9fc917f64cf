"""Least privilege on PostgreSQL: as the service role, the trail can be read, appended and sealed, never
changed or deleted.

Each test acts as ``privacy_service_app`` with ``SET LOCAL ROLE`` inside its own
transaction (rolled back afterwards); every refused statement runs in a
savepoint of its own, so the role survives the refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import pytest
from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from privacy_service.audit import (
    SYSTEM,
    Action,
    CheckpointCadence,
    Outcome,
    ensure_signing_key,
    record,
    seal_pending_events,
    write_checkpoint,
)
from privacy_service.audit.canonical import GENESIS_HASH
from privacy_service.audit.models import AuditArchive, AuditCheckpoint, AuditEvent
from privacy_service.audit.privileges import SERVICE_ROLE
from privacy_service.core.clock import FrozenClock
from privacy_service.crypto import LocalKeyFile
from privacy_service.work import Work
from tests.conftest import requires_postgres
from tests.unit.audit.conftest import CLIENT, RecordEvents

pytestmark = requires_postgres

INSUFFICIENT_PRIVILEGE = "42501"
EVENTS = cast(Table, AuditEvent.__table__)
CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)
ARCHIVES = cast(Table, AuditArchive.__table__)


def act_as_service(session: Session) -> None:
    session.execute(text(f"SET LOCAL ROLE {SERVICE_ROLE}"))
    assert session.scalar(text("SELECT current_user")) == SERVICE_ROLE


@contextmanager
def refused(session: Session) -> Iterator[None]:
    """The block's statement fails with PostgreSQL's permission error (not the append-only trigger)."""
    with pytest.raises(ProgrammingError) as raised, session.begin_nested():
        yield
    assert getattr(raised.value.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE


def test_the_migration_creates_the_service_role_without_login(session: Session) -> None:
    can_login = session.scalar(
        text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :name"), {"name": SERVICE_ROLE}
    )
    assert can_login is False


def test_the_service_role_cannot_change_the_action_of_a_sealed_event(
    session: Session, sealed_chain: list[AuditEvent]
) -> None:
    act_as_service(session)
    with refused(session):
        session.execute(update(EVENTS).where(EVENTS.c.seq == 2).values(action="x"))


@pytest.mark.parametrize("sealed", [True, False])
def test_the_service_role_cannot_delete_an_event(
    session: Session, record_events: RecordEvents, sealed: bool, work: Work
) -> None:
    record_events(2)
    if sealed:
        seal_pending_events(work)
    act_as_service(session)
    with refused(session):
        session.execute(delete(EVENTS))


@pytest.mark.parametrize(
    "table", ["audit_events", "audit_checkpoints", "audit_signing_keys", "audit_archives"]
)
def test_the_service_role_cannot_truncate_the_trail(session: Session, table: str) -> None:
    act_as_service(session)
    with refused(session):
        session.execute(text(f"TRUNCATE {table}"))


def test_the_service_role_cannot_change_or_delete_a_checkpoint(
    session: Session, key_file: LocalKeyFile, work: Work
) -> None:
    ensure_signing_key(work, provider=key_file)
    write_checkpoint(work, provider=key_file, cadence=CheckpointCadence(), force=True)
    act_as_service(session)
    with refused(session):
        session.execute(update(CHECKPOINTS).values(seq=7))
    with refused(session):
        session.execute(delete(CHECKPOINTS))


def test_the_service_role_cannot_write_the_archive_record_that_would_allow_a_delete(
    session: Session, clock: FrozenClock, key_file: LocalKeyFile, work: Work
) -> None:
    key = ensure_signing_key(work, provider=key_file)
    act_as_service(session)
    with refused(session):
        session.execute(
            ARCHIVES.insert().values(
                number=1,
                first_seq=1,
                through_seq=1,
                hash=GENESIS_HASH,
                before=clock.now(),
                digest=GENESIS_HASH,
                at=clock.now(),
                key_id=key.id,
                signature=b"forged",
            )
        )


def test_the_service_role_records_reads_seals_and_checkpoints(
    session: Session, key_file: LocalKeyFile, record_events: RecordEvents, work: Work
) -> None:
    act_as_service(session)
    record_events(3)
    record(
        work,
        actor=SYSTEM,
        action=Action.KEY_ROTATE,
        target=CLIENT,
        outcome=Outcome.SUCCESS,
    )
    work.commit()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 4
    assert seal_pending_events(work) == 4
    ensure_signing_key(work, provider=key_file)
    checkpoint = write_checkpoint(work, provider=key_file, cadence=CheckpointCadence(), force=True)
    assert checkpoint is not None
    assert checkpoint.seq == 4


def test_the_service_role_reads_and_writes_ordinary_tables_and_those_created_later(session: Session) -> None:
    # Created by the owner after migration 0006: the default privileges grant it to the service.
    session.execute(text("CREATE TABLE later_business_rows (id integer PRIMARY KEY, note text)"))
    act_as_service(session)
    session.execute(text("INSERT INTO later_business_rows VALUES (1, 'a')"))
    session.execute(text("UPDATE later_business_rows SET note = 'b'"))
    assert session.scalar(text("SELECT note FROM later_business_rows")) == "b"
    session.execute(text("DELETE FROM later_business_rows"))
    session.execute(text("DELETE FROM login_failures"))
