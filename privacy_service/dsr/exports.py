"""Downloading and purging export bundles: only the subject and staff, only until the bundle expires."""

from __future__ import annotations

from sqlalchemy import update

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, Party, PartyType
from privacy_service.dsr.encryption import BUNDLE_COLUMN
from privacy_service.dsr.errors import ExportExpired, ExportNotReady, RequestNotFound
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import DsrExport, DsrRequest
from privacy_service.identity.principals import Principal
from privacy_service.work import Work


def may_download(request: DsrRequest, principal: Principal) -> bool:
    """The subject themself, or staff signed in with a second factor; not the shop that filed it."""
    if not principal.is_user:
        return False
    if principal.id == request.subject_id:
        return True
    return principal.is_staff and principal.has_second_factor


def download_export(
    work: Work, *, fulfilment: Fulfilment, principal: Principal, request_id: str
) -> tuple[bytes, DsrExport]:
    """The bundle's ZIP bytes, with ``dsr_export_download`` recorded."""
    request = work.session.get(DsrRequest, request_id)
    if request is None or not may_download(request, principal):
        raise RequestNotFound()
    export = work.session.get(DsrExport, request_id)
    if export is None:
        raise ExportNotReady("The export is ready once the access request has completed.")
    if export.bundle is None or export.expires_at <= work.clock.now():
        raise ExportExpired()
    fields = work.subject_fields(table=DsrExport.__tablename__, subject_id=request.subject_id)
    content = fields.open_bytes(BUNDLE_COLUMN, export.bundle)
    audit.record(
        work,
        actor=principal.party,
        action=Action.DSR_EXPORT_DOWNLOAD,
        target=Party(type=PartyType.DSR, id=request.id),
        outcome=Outcome.SUCCESS,
    )
    return content, export


def purge_expired_exports(work: Work) -> int:
    """Delete the bundles whose time is up (the row stays, so a late download says it expired)."""
    result = work.session.execute(
        update(DsrExport)
        .where(DsrExport.expires_at <= work.clock.now(), DsrExport.bundle.is_not(None))
        .values(bundle=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
