"""Export bundles as streams: stored in sealed segments, downloaded whole, cut short rather than forged.

A system answers with about three megabytes (1.4 MiB compressed), so the bundle spans more
segments than one read takes (``exports.SEGMENTS_PER_READ``). What is altered
at rest is altered by writing rows directly, as an attacker with the database
would.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from privacy_service.audit.models import AuditEvent
from privacy_service.crypto import SEGMENT_SIZE
from privacy_service.dsr.exports import SEGMENTS_PER_READ, purge_expired_exports
from privacy_service.dsr.models import DsrExport, DsrExportSegment
from privacy_service.work import Workplace
from tests.functional.conftest import Api, Customer
from tests.functional.dsr_support import DsrDriver, file
from tests.functional.web_support import Browser
from tests.support.downstream import FakeDownstream


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client)


LARGE_ANSWER = {"orders": [{"id": f"o-{n}", "note": secrets.token_hex(120)} for n in range(10_000)]}


def completed_access_request(api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer) -> str:
    orders.answer_completed(LARGE_ANSWER)
    dsr.register(orders)
    receipt = file(api, api.tokens(customer.email, customer.password).headers, type="access")
    dsr.deliver()
    return str(receipt["id"])


def segments_of(workplace: Workplace, request_id: str) -> list[bytes]:
    with workplace.open() as work:
        return list(
            work.session.scalars(
                select(DsrExportSegment.ciphertext)
                .where(DsrExportSegment.request_id == request_id)
                .order_by(DsrExportSegment.seq)
            )
        )


def replace_segment(workplace: Workplace, request_id: str, seq: int, ciphertext: bytes) -> None:
    with workplace.open() as work:
        work.session.execute(
            update(DsrExportSegment)
            .where(DsrExportSegment.request_id == request_id, DsrExportSegment.seq == seq)
            .values(ciphertext=ciphertext)
        )


def test_a_bundle_of_many_segments_downloads_whole_with_its_length_and_digest(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, workplace: Workplace
) -> None:
    request_id = completed_access_request(api, dsr, orders, customer)
    stored = segments_of(workplace, request_id)
    assert len(stored) > SEGMENTS_PER_READ, "more segments than one read takes"

    answer = api.http.get(
        f"/v1/dsr/{request_id}/export", headers=api.tokens(customer.email, customer.password).headers
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == f'attachment; filename="dsr-{request_id}.zip"'
    assert int(answer.headers["content-length"]) == len(answer.content)
    assert answer.headers["digest"] == f"sha-256={hashlib.sha256(answer.content).hexdigest()}"
    assert len(stored) == -(-len(answer.content) // SEGMENT_SIZE)
    assert all(len(segment) == SEGMENT_SIZE + 16 for segment in stored[:-1])
    with zipfile.ZipFile(io.BytesIO(answer.content)) as bundle:
        assert json.loads(bundle.read("data/orders.json"))["data"] == LARGE_ANSWER
        manifest = json.loads(bundle.read("manifest.json"))
        for item in manifest["files"]:
            assert hashlib.sha256(bundle.read(item["path"])).hexdigest() == item["sha256"]
    with workplace.open() as work:
        export = work.session.get(DsrExport, request_id)
        assert export is not None
        assert (export.size, export.segments) == (len(answer.content), len(stored))
        downloads = work.session.scalar(
            select(func.count()).where(
                AuditEvent.action == "dsr_export_download", AuditEvent.target_id == request_id
            )
        )
    assert downloads == 1


def download_cut(api: Api, customer: Customer, request_id: str) -> tuple[dict[str, str], bytes]:
    answer = api.http.get(
        f"/v1/dsr/{request_id}/export", headers=api.tokens(customer.email, customer.password).headers
    )
    assert answer.status_code == 200, "the headers went out before the altered segment was reached"
    return dict(answer.headers), answer.content


def assert_cut_short_at(
    headers: dict[str, str], body: bytes, whole: bytes, *, verified_segments: int
) -> None:
    """Only the segments before the altered one arrived, exactly as sealed; never a ZIP that opens."""
    assert body == whole[: verified_segments * SEGMENT_SIZE]
    assert len(body) < int(headers["content-length"])
    assert headers["digest"] != f"sha-256={hashlib.sha256(body).hexdigest()}"
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(body))


ALTERATIONS: dict[str, Any] = {
    "a flipped bit": lambda stored: {2: stored[2][:-1] + bytes([stored[2][-1] ^ 1])},
    "two segments swapped": lambda stored: {2: stored[3], 3: stored[2]},
}


@pytest.mark.parametrize("alteration", ALTERATIONS)
def test_an_altered_segment_cuts_the_download_short_before_any_of_its_bytes(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    workplace: Workplace,
    alteration: str,
) -> None:
    request_id = completed_access_request(api, dsr, orders, customer)
    whole = api.http.get(
        f"/v1/dsr/{request_id}/export", headers=api.tokens(customer.email, customer.password).headers
    ).content
    stored = segments_of(workplace, request_id)
    for seq, ciphertext in ALTERATIONS[alteration](stored).items():
        replace_segment(workplace, request_id, seq, ciphertext)

    headers, body = download_cut(api, customer, request_id)
    assert_cut_short_at(headers, body, whole, verified_segments=2)


@pytest.mark.parametrize("cut", ["the last segment deleted", "the segment count lowered"])
def test_a_bundle_missing_its_last_segment_is_cut_short_not_passed_off_as_whole(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, workplace: Workplace, cut: str
) -> None:
    request_id = completed_access_request(api, dsr, orders, customer)
    whole = api.http.get(
        f"/v1/dsr/{request_id}/export", headers=api.tokens(customer.email, customer.password).headers
    ).content
    count = len(segments_of(workplace, request_id))
    with workplace.open() as work:
        if cut == "the last segment deleted":
            work.session.execute(
                delete(DsrExportSegment).where(
                    DsrExportSegment.request_id == request_id, DsrExportSegment.seq == count - 1
                )
            )
        else:
            work.session.execute(
                update(DsrExport).where(DsrExport.request_id == request_id).values(segments=count - 1)
            )
    headers, body = download_cut(api, customer, request_id)
    # The segment before the missing one was not sealed as the last: it is held back too.
    assert_cut_short_at(headers, body, whole, verified_segments=count - 2)


def test_a_segment_moved_from_another_subjects_bundle_does_not_open(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    make_customer: Any,
    workplace: Workplace,
) -> None:
    first = completed_access_request(api, dsr, orders, customer)
    other = make_customer()
    second_receipt = file(api, api.tokens(other.email, other.password).headers, type="access")
    dsr.deliver()
    whole = api.http.get(
        f"/v1/dsr/{first}/export", headers=api.tokens(customer.email, customer.password).headers
    ).content
    replace_segment(workplace, first, 1, segments_of(workplace, str(second_receipt["id"]))[1])

    headers, body = download_cut(api, customer, first)
    assert_cut_short_at(headers, body, whole, verified_segments=1)


def test_the_privacy_center_streams_the_same_bundle_and_is_cut_short_the_same_way(
    api: Api,
    dsr: DsrDriver,
    orders: FakeDownstream,
    customer: Customer,
    workplace: Workplace,
    browser: Browser,
) -> None:
    request_id = completed_access_request(api, dsr, orders, customer)
    browser.sign_in(customer.email, customer.password)
    page = browser.get(f"/requests/{request_id}/export")
    assert page.status_code == 200
    assert int(page.headers["content-length"]) == len(page.content)
    assert page.headers["digest"] == f"sha-256={hashlib.sha256(page.content).hexdigest()}"
    with zipfile.ZipFile(io.BytesIO(page.content)) as bundle:
        assert json.loads(bundle.read("data/orders.json"))["data"] == LARGE_ANSWER

    stored = segments_of(workplace, request_id)
    replace_segment(workplace, request_id, 0, stored[0][:-1] + bytes([stored[0][-1] ^ 1]))
    cut = browser.get(f"/requests/{request_id}/export")
    assert cut.status_code == 200
    assert_cut_short_at(dict(cut.headers), cut.content, page.content, verified_segments=0)


def test_purging_an_expired_export_deletes_its_segments_and_keeps_the_row(
    api: Api, dsr: DsrDriver, orders: FakeDownstream, customer: Customer, workplace: Workplace, clock: Any
) -> None:
    request_id = completed_access_request(api, dsr, orders, customer)
    assert segments_of(workplace, request_id)
    with workplace.open() as work:
        export = work.session.get(DsrExport, request_id)
        assert export is not None
        clock.advance(export.expires_at - clock.now())
    with workplace.open() as work:
        assert purge_expired_exports(work) == 1
    assert segments_of(workplace, request_id) == []
    with workplace.open() as work:
        export = work.session.get(DsrExport, request_id)
        assert export is not None
        assert export.bundle is None
