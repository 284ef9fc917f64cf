"""Export bundles at rest: sealed and stored a segment at a time, streamed to the subject, purged when due.

A bundle is never whole in memory. ``ExportFile`` is the file its ZIP is
written to: each segment is sealed under the subject's data key as it fills
(``SubjectFields.encrypt_stream``, bound to the request) and stored as a row
of ``dsr_export_segments``. A download reads the segments back in order, a
few at a time, and sends each one only once it has verified. Only the subject
and staff may download, and only until the bundle expires.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, Party, PartyType
from privacy_service.crypto import SEGMENT_SIZE, DecryptionFailed, StreamOpener
from privacy_service.dsr.encryption import BUNDLE_COLUMN
from privacy_service.dsr.errors import ExportExpired, ExportNotReady, RequestNotFound
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrExport, DsrExportSegment, DsrRequest
from privacy_service.identity.principals import Principal
from privacy_service.work import Work, Workplace

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/zip"
#: Segments a download reads in one unit of work: about a megabyte of ciphertext at the default size.
SEGMENTS_PER_READ = 4


class ExportFile:
    """The file a bundle's ZIP is written to: each segment sealed and stored as it fills.

    The bundle's writer only ever appends to it (``bundle.BundleWriter``);
    the ZIP's size and SHA-256 are counted on the way through. ``close`` seals the last
    segment and completes ``export``; a file never closed leaves a stream that
    does not open, so the unit of work that wrote it must not commit it.
    """

    def __init__(
        self,
        work: Work,
        *,
        request: DsrRequest,
        created_at: datetime,
        expires_at: datetime,
        segment_size: int = SEGMENT_SIZE,
    ) -> None:
        fields = work.subject_fields(table=DsrExport.__tablename__, subject_id=request.subject_id)
        self._session = work.session
        self._request_id = request.id
        self._sealer = fields.encrypt_stream(
            BUNDLE_COLUMN, row_id=request.id, sink=self._store, segment_size=segment_size
        )
        self._digest = hashlib.sha256()
        self._size = 0
        # An export built again replaces the earlier one, segments and all.
        self._session.execute(
            delete(DsrExportSegment).where(DsrExportSegment.request_id == request.id),
            execution_options={"synchronize_session": False},
        )
        self.export = self._session.merge(
            DsrExport(
                request_id=request.id,
                subject_id=request.subject_id,
                bundle=self._sealer.header,
                size=0,
                sha256="",
                segments=0,
                created_at=created_at,
                expires_at=expires_at,
            )
        )
        self._session.flush()

    def write(self, data: bytes, /) -> int:
        self._digest.update(data)
        self._size += len(data)
        return self._sealer.write(data)

    def flush(self) -> None:
        """Nothing waits to be written: each segment is stored as it fills, the last one at ``close``."""

    def close(self) -> None:
        """Seal the last segment: the bundle is complete, its size, digest and segment count recorded."""
        self.export.segments = self._sealer.close()
        self.export.size = self._size
        self.export.sha256 = self._digest.hexdigest()

    def _store(self, seq: int, ciphertext: bytes) -> None:
        # A Core INSERT, executed at once: a stored segment is not kept in the session.
        self._session.execute(
            insert(DsrExportSegment), [{"request_id": self._request_id, "seq": seq, "ciphertext": ciphertext}]
        )


def may_download(request: DsrRequest, principal: Principal) -> bool:
    """The subject themself, or staff signed in with a second factor; not the shop that filed it."""
    if not principal.is_user:
        return False
    if principal.id == request.subject_id:
        return True
    return principal.is_staff and principal.has_second_factor


@dataclass(frozen=True)
class ExportDownload:
    """A bundle about to be sent: what its headers say, and the opener of its segments (header checked)."""

    request_id: str
    size: int
    sha256: str
    segments: int
    opener: StreamOpener

    def headers(self) -> dict[str, str]:
        """Its file name, its length and its digest: a client that got less than this knows it was cut."""
        return {
            "Content-Disposition": f'attachment; filename="dsr-{self.request_id}.zip"',
            "Content-Length": str(self.size),
            "Digest": f"sha-256={self.sha256}",
        }


def download_export(
    work: Work, *, fulfilment: Fulfilment, principal: Principal, request_id: str
) -> ExportDownload:
    """The bundle ready to stream (``bundle_content``), with ``dsr_export_download`` recorded."""
    request = work.session.get(DsrRequest, request_id)
    if request is None or not may_download(request, principal):
        raise RequestNotFound()
    export = work.session.get(DsrExport, request_id)
    if export is None:
        raise ExportNotReady("The export is ready once the access request has completed.")
    if export.bundle is None or export.expires_at <= work.clock.now():
        raise ExportExpired()
    fields = work.subject_fields(table=DsrExport.__tablename__, subject_id=request.subject_id)
    opener = fields.open_stream(BUNDLE_COLUMN, row_id=request.id, header=export.bundle)
    audit.record(
        work,
        actor=principal.party,
        action=Action.DSR_EXPORT_DOWNLOAD,
        target=Party(type=PartyType.DSR, id=request.id),
        outcome=Outcome.SUCCESS,
    )
    return ExportDownload(
        request_id=request.id, size=export.size, sha256=export.sha256, segments=export.segments, opener=opener
    )


def bundle_content(
    workplace: Workplace, download: ExportDownload, *, batch: int = SEGMENTS_PER_READ
) -> Iterator[bytes]:
    """The bundle's ZIP, one verified segment at a time, read ``batch`` segments per unit of work.

    The download's own unit of work, with its audit event, has committed
    before the first byte. A segment that does not verify (altered, moved,
    missing) ends the stream before any of its bytes, with ``DecryptionFailed``:
    the edge then breaks the connection, so the client holds less than
    ``Content-Length`` and no ZIP's central directory, never a whole-looking
    archive.
    """
    stored = _stored_segments(workplace, request_id=download.request_id, count=download.segments, batch=batch)
    try:
        yield from download.opener.open(stored)
    except DecryptionFailed:
        log.error("a segment of an export bundle did not verify: the download was cut short",
                  extra={"dsr_request_id": download.request_id})  # fmt: skip
        raise


def _stored_segments(workplace: Workplace, *, request_id: str, count: int, batch: int) -> Iterator[bytes]:
    """The sealed segments in order, a batch per short unit of work: a slow client holds no transaction."""
    for first in range(0, count, batch):
        with workplace.open() as work:
            sealed = work.session.scalars(
                select(DsrExportSegment.ciphertext)
                .where(
                    DsrExportSegment.request_id == request_id,
                    DsrExportSegment.seq >= first,
                    DsrExportSegment.seq < min(first + batch, count),
                )
                .order_by(DsrExportSegment.seq)
            ).all()
        yield from sealed
        del sealed  # this batch goes before the next one is read


def purge_expired_exports(work: Work) -> int:
    """Delete the bundles whose time is up (the row stays, so a late download says it expired)."""
    expired = (DsrExport.expires_at <= work.clock.now(), DsrExport.bundle.is_not(None))
    work.session.execute(
        delete(DsrExportSegment).where(
            DsrExportSegment.request_id.in_(select(DsrExport.request_id).where(*expired))
        ),
        execution_options={"synchronize_session": False},
    )
    result = work.session.execute(update(DsrExport).where(*expired).values(bundle=None))
    return int(getattr(result, "rowcount", 0) or 0)
