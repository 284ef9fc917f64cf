"""What the DSR tables hold at rest: no personal value, no webhook secret, in plaintext.

One scenario writes everything DSR stores about a person: a registered system
with its Standard Webhooks secret, an access request answered with personal
data (the system's answer and the export bundle, sealed in segments), an
erasure request an officer rejected with a free-text reason, and the notices to
the subject waiting for the mailer (their address, and the officer's words).
On SQLite the database files are scanned byte for byte (the main file and the
write-ahead log, before and after a checkpoint); on any backend (PostgreSQL in
CI) every raw column of every table is read with SQL, bypassing the ORM. The
system's name and the rejection reason, plaintext by design, are the positive
controls proving each scan would have found a value had one been there.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.actions import SYSTEM
from privacy_service.connectors import Completed, InMemoryConnector
from privacy_service.core.clock import FrozenClock
from privacy_service.core.db import Base, create_session_factory
from privacy_service.dsr import service, systems
from privacy_service.dsr.fanout import lease_due_tasks, record_outcome
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrExport, DsrExportSegment, DsrNotice, DsrRequest, DsrTask
from privacy_service.dsr.states import RejectionReason
from privacy_service.identity.accounts import register_user
from privacy_service.identity.credentials import Credentials
from privacy_service.identity.principals import Principal, PrincipalKind
from privacy_service.identity.scopes import AuthMethod, Role
from privacy_service.keys.service import Keyring
from privacy_service.policy import RequestType, SystemRequestType
from privacy_service.work import Workplace
from tests.conftest import make_settings
from tests.support.at_rest import migrated_sqlite_file, plaintexts_in, raw_table_bytes, read_sqlite_files
from tests.unit.dsr.conftest import PASSWORD

SYSTEM_NAME = "invoicing-ledger"  # plaintext by design: a positive control
REASON = RejectionReason.MANIFESTLY_UNFOUNDED.value  # plaintext by design: a positive control
EMAIL = "Henrietta.Quellmalz@example-shop.de"
GIVEN_NAME = "Henrietta Ottilie"
ANSWERED = {
    "invoices": [{"number": "RE-2025-884213", "ship_to": "Gänsemarkt 44, 20354 Hamburg"}],
    "iban": "DE89370400440532013000",
}
REJECTION_DETAIL = "Third identical request this week from the same mailbox, see ticket SUP-77123"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(bytes(range(7, 39))).decode("ascii")

PLAINTEXTS = [
    EMAIL,
    EMAIL.lower(),
    GIVEN_NAME,
    "RE-2025-884213",
    "Gänsemarkt 44",
    "DE89370400440532013000",
    REJECTION_DETAIL,
    "SUP-77123",
    WEBHOOK_SECRET,
    WEBHOOK_SECRET.removeprefix("whsec_"),
]
RAW_SECRET = bytes(range(7, 39))


def found(haystack: bytes) -> list[str]:
    return plaintexts_in(haystack, PLAINTEXTS) + (["the raw secret key"] if RAW_SECRET in haystack else [])


def write_everything(workplace: Workplace, *, fulfilment: Fulfilment, credentials: Credentials) -> None:
    """A system with its secret, an answered access request with its bundle, a rejected erasure request."""
    assert isinstance(fulfilment.connector, InMemoryConnector)
    fulfilment.connector.script(SYSTEM_NAME, Completed(data=ANSWERED, retained=()))
    with workplace.open() as work:
        systems.register_system(
            work, policies=fulfilment.policies, actor=SYSTEM,
            name=SYSTEM_NAME, url="http://ledger.shop.internal:8080/privacy", secret=WEBHOOK_SECRET,
            request_types=(SystemRequestType.ACCESS, SystemRequestType.ERASURE), categories=("invoices",),
            timeout_seconds=5,
        )  # fmt: skip
        systems.register_system(
            work, policies=fulfilment.policies, actor=SYSTEM,
            name="mailer", url="http://mail.shop.internal/notices", secret=WEBHOOK_SECRET,
            request_types=(SystemRequestType.NOTICE,), categories=(), timeout_seconds=5,
        )  # fmt: skip
        subject_id = register_user(
            work, emails=credentials.emails, passwords=credentials.passwords,
            email=EMAIL, password=PASSWORD, profile={"given_name": GIVEN_NAME, "country": "DE"},
        ).id  # fmt: skip
        officer_id = register_user(
            work, emails=credentials.emails, passwords=credentials.passwords,
            email="officer@shop.example", password="Quiet-Orchard-Lantern-7",
            roles=(Role.COMPLIANCE_OFFICER,),
        ).id  # fmt: skip
    shop = Principal(kind=PrincipalKind.CLIENT, id="shop-backend", client_id="shop-backend")
    officer = Principal(kind=PrincipalKind.USER, id=officer_id, client_id="shop-backend",
                        roles=frozenset({Role.COMPLIANCE_OFFICER}),
                        amr=frozenset({AuthMethod.PASSWORD, AuthMethod.OTP}))  # fmt: skip
    with workplace.open() as work:
        erasure = service.file_request(work, fulfilment=fulfilment, requester=shop,
                                       request_type=RequestType.ERASURE, subject_id=subject_id)  # fmt: skip
        service.reject_request(work, fulfilment=fulfilment, officer=officer,
                               request_id=erasure.id, reason=RejectionReason(REASON),
                               detail=REJECTION_DETAIL)  # fmt: skip
    with workplace.open() as work:
        access = service.file_request(work, fulfilment=fulfilment, requester=shop,
                                      request_type=RequestType.ACCESS, subject_id=subject_id)  # fmt: skip
    with workplace.open() as work:
        [lease] = lease_due_tasks(work, fulfilment=fulfilment, limit=10)
    outcome = fulfilment.connector.deliver(lease.delivery, now=workplace.clock.now())
    with workplace.open() as work:
        record_outcome(
            work, fulfilment=fulfilment, task_id=lease.task_id, outcome=outcome, rng=random.Random(0)
        )

    with workplace.open() as work:  # the scenario did write each encrypted value
        session = work.session
        assert session.get(DsrRequest, access.id).status == "completed"  # type: ignore[union-attr]
        assert session.scalars(select(DsrTask.result).where(DsrTask.request_id == access.id)).one()
        assert session.get(DsrExport, access.id).bundle  # type: ignore[union-attr]
        assert session.scalars(
            select(DsrExportSegment.ciphertext).where(DsrExportSegment.request_id == access.id)
        ).all()
        assert session.get(DsrRequest, erasure.id).rejection_detail  # type: ignore[union-attr]
        # The notices (sealed under keys of their own, with the address and the officer's words) wait.
        assert (
            len(session.scalars(select(DsrNotice.message).where(DsrNotice.message.is_not(None))).all()) >= 3
        )
        view = service.request_view(work, fulfilment=fulfilment,
                                    request=session.get(DsrRequest, erasure.id))  # type: ignore[arg-type]  # fmt: skip
        assert view.rejection is not None
        assert view.rejection.detail == REJECTION_DETAIL


@pytest.fixture
def database_file(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "dsr-at-rest.db"
    with migrated_sqlite_file(path, make_settings(tmp_path)) as engine:
        yield engine, path


def test_the_sqlite_files_hold_no_personal_value_nor_webhook_secret_from_requests(
    database_file: tuple[Engine, Path],
    fulfilment: Fulfilment,
    credentials: Credentials,
    clock: FrozenClock,
    keyring: Keyring,
) -> None:
    engine, path = database_file
    workplace = Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring)
    write_everything(workplace, fulfilment=fulfilment, credentials=credentials)

    files = read_sqlite_files(engine, path)
    assert SYSTEM_NAME.encode() in files.live
    assert REASON.encode() in files.live
    assert found(files.live) == []
    assert SYSTEM_NAME.encode() in files.checkpointed
    assert REASON.encode() in files.checkpointed
    assert found(files.checkpointed) == []


def test_no_raw_column_of_any_table_holds_a_personal_value_or_webhook_secret(
    sessions: sessionmaker[Session],
    session: Session,
    fulfilment: Fulfilment,
    credentials: Credentials,
    clock: FrozenClock,
    keyring: Keyring,
) -> None:
    workplace = Workplace(sessions=sessions, clock=clock, keyring=keyring)
    write_everything(workplace, fulfilment=fulfilment, credentials=credentials)

    seen: dict[str, bool] = {}
    for table in Base.metadata.sorted_tables:
        raw = raw_table_bytes(session, table.name)
        assert found(raw) == [], table.name
        seen[table.name] = SYSTEM_NAME.encode() in raw
    assert seen["downstream_systems"]
    assert seen["dsr_tasks"]
    # The bundle's ZIP names the system in clear (data/invoicing-ledger.json, in an entry's header, never
    # compressed): its sealed segments must not.
    assert not seen["dsr_export_segments"]
