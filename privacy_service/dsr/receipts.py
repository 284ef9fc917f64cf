"""Receipts: a person follows their erasure request after it has erased the account they filed it with.

An erasure ends with the subject's account, and with it every session: the
privacy center could no longer show the request to the person who filed it.
So filing one through the privacy center hands their browser a receipt, 256
random bits kept as a keyed digest (``crypto.opaque_tokens``), that shows that
one request, and nothing personal, until ``RECEIPT_LIFETIME`` has passed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import CursorResult, delete, select

from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests, new_opaque_token
from privacy_service.dsr.errors import RequestNotFound
from privacy_service.dsr.models import DsrRequest, RequestReceipt
from privacy_service.work import Work

RECEIPT_KIND = "dsr-receipt"
#: Long enough to follow a request to its deadline, extended (three months) and a little beyond.
RECEIPT_LIFETIME = timedelta(days=100)


def issue_receipt(work: Work, *, digests: OpaqueTokenDigests, request_id: str) -> str:
    """A new receipt for ``request_id``, replacing any earlier one."""
    token = new_opaque_token()
    work.session.execute(delete(RequestReceipt).where(RequestReceipt.request_id == request_id))
    work.session.add(
        RequestReceipt(
            request_id=request_id,
            digest=digests.digest(token, kind=RECEIPT_KIND),
            expires_at=work.clock.now() + RECEIPT_LIFETIME,
        )
    )
    return token


def request_by_receipt(
    work: Work, *, digests: OpaqueTokenDigests, receipt: str, request_id: str
) -> DsrRequest:
    """The request ``receipt`` was issued for, if it is ``request_id`` and unexpired; else RequestNotFound."""
    found = work.session.scalar(
        select(DsrRequest)
        .join(RequestReceipt, RequestReceipt.request_id == DsrRequest.id)
        .where(
            RequestReceipt.digest == digests.digest(receipt, kind=RECEIPT_KIND),
            RequestReceipt.expires_at > work.clock.now(),
            DsrRequest.id == request_id,
        )
    )
    if found is None:
        raise RequestNotFound()
    return found


def purge_expired_receipts(work: Work) -> int:
    """Delete the receipts past their lifetime; return how many. For the worker."""
    result = work.session.execute(delete(RequestReceipt).where(RequestReceipt.expires_at <= work.clock.now()))
    assert isinstance(result, CursorResult)
    return result.rowcount
