"""Storing and reading a sealed export: in segments, read back in batches, stored whole or not at all."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from privacy_service.audit.actions import SYSTEM
from privacy_service.core.clock import FrozenClock
from privacy_service.crypto import DecryptionFailed, MalformedCiphertext
from privacy_service.dsr import systems
from privacy_service.dsr.bundle import store_export
from privacy_service.dsr.exports import bundle_content, download_export
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrExport, DsrExportSegment, DsrRequest, DsrTask
from privacy_service.dsr.states import TaskStatus
from privacy_service.identity.principals import Principal, PrincipalKind
from privacy_service.keys.service import Keyring
from privacy_service.policy import SystemRequestType
from privacy_service.work import Work, Workplace
from tests.unit.dsr.conftest import FileRequest, NewCustomer

ANSWER = {"orders": [{"id": f"o-{n}", "total": f"{n}.50"} for n in range(400)]}


@pytest.fixture
def answered(
    work: Work, fulfilment: Fulfilment, new_customer: NewCustomer, file_request: FileRequest
) -> DsrRequest:
    """An access request whose one system (``orders``) answered ``ANSWER``, ready to be closed."""
    systems.register_system(
        work, policies=fulfilment.policies, actor=SYSTEM,
        name="orders", url="http://orders.shop.internal/privacy", secret="whsec_" + "QUJD" * 8,
        request_types=(SystemRequestType.ACCESS,), categories=("orders",), timeout_seconds=5,
    )  # fmt: skip
    request = file_request(new_customer())
    task = work.session.scalars(select(DsrTask).where(DsrTask.request_id == request.id)).one()
    fields = work.subject_fields(table=DsrTask.__tablename__, subject_id=request.subject_id)
    task.status = TaskStatus.COMPLETED.value
    task.result = fields.encrypt_json("result", ANSWER)
    work.session.flush()
    return request


@pytest.fixture
def workplace(sessions: sessionmaker[Session], clock: FrozenClock, keyring: Keyring) -> Workplace:
    return Workplace(sessions=sessions, clock=clock, keyring=keyring)


def the_subject(request: DsrRequest) -> Principal:
    return Principal(kind=PrincipalKind.USER, id=request.subject_id, client_id="shop")


def stored_segments(work: Work, request_id: str) -> int:
    return (
        work.session.scalar(
            select(func.count())
            .select_from(DsrExportSegment)
            .where(DsrExportSegment.request_id == request_id)
        )
        or 0
    )


def test_a_stored_bundle_streams_back_in_batches_to_the_bytes_its_size_and_digest_describe(
    work: Work, fulfilment: Fulfilment, answered: DsrRequest, workplace: Workplace
) -> None:
    export = store_export(work, fulfilment=fulfilment, request=answered, segment_size=1024)
    work.commit()
    assert export.segments == stored_segments(work, answered.id) == -(-export.size // 1024)
    assert export.segments > 3

    download = download_export(
        work, fulfilment=fulfilment, principal=the_subject(answered), request_id=answered.id
    )
    work.commit()
    content = b"".join(bundle_content(workplace, download, batch=3))
    assert (len(content), hashlib.sha256(content).hexdigest()) == (export.size, export.sha256)
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        assert json.loads(bundle.read("data/orders.json"))["data"] == ANSWER


def test_an_export_built_again_replaces_the_earlier_one_segments_and_all(
    work: Work, fulfilment: Fulfilment, answered: DsrRequest, workplace: Workplace
) -> None:
    store_export(work, fulfilment=fulfilment, request=answered, segment_size=512)
    export = store_export(work, fulfilment=fulfilment, request=answered, segment_size=4096)
    work.commit()
    assert stored_segments(work, answered.id) == export.segments == -(-export.size // 4096)
    download = download_export(
        work, fulfilment=fulfilment, principal=the_subject(answered), request_id=answered.id
    )
    work.commit()
    assert hashlib.sha256(b"".join(bundle_content(workplace, download))).hexdigest() == export.sha256


@pytest.mark.parametrize("garbage", [b"\x01not a sealed answer at all", b""], ids=["altered", "empty"])
def test_a_bundle_that_fails_half_written_leaves_no_export_and_no_segment(
    work: Work, fulfilment: Fulfilment, answered: DsrRequest, garbage: bytes
) -> None:
    task = work.session.scalars(select(DsrTask).where(DsrTask.request_id == answered.id)).one()
    task.result = garbage  # the answer no longer opens: the build fails after its first files were sealed
    with pytest.raises((DecryptionFailed, MalformedCiphertext)):
        store_export(work, fulfilment=fulfilment, request=answered, segment_size=64)
    assert work.session.get(DsrExport, answered.id) is None
    assert stored_segments(work, answered.id) == 0


def test_a_header_that_names_another_key_is_refused_before_the_download_starts(
    work: Work, fulfilment: Fulfilment, answered: DsrRequest, new_customer: NewCustomer
) -> None:
    store_export(work, fulfilment=fulfilment, request=answered, segment_size=1024)
    other = new_customer()
    other_fields = work.subject_fields(table=DsrExport.__tablename__, subject_id=other)
    export = work.session.get(DsrExport, answered.id)
    assert export is not None
    export.bundle = other_fields.encrypt_stream("bundle", row_id=answered.id, sink=lambda _, __: None).header
    with pytest.raises(DecryptionFailed, match="another data key"):
        download_export(work, fulfilment=fulfilment, principal=the_subject(answered), request_id=answered.id)
