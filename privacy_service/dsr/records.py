"""The record of a request once it has ended: kept as long as the law asks, then purged by the worker.

CCPA regulations §7101(a) ask that the record of every request (when it came,
its type, how it was filed, the answer and any reason for refusing it) be kept
at least 24 months; ``PRIVACY_DSR_RECORD_MONTHS`` may keep it longer, never
shorter. Months count on the calendar, as deadlines do (``policy.Period``).
Then the request is deleted with every row that hangs from it by a foreign key
with ``ON DELETE CASCADE``: its tasks (and the callbacks they took), its
notices to the subject (and their deliveries), its export and its receipt. A
notice's message is sealed under a key of its own, shredded once delivered
(``notices.py``); one still undelivered has its key shredded here first, so
no readable message outlives its row. A request that has not ended is never
purged, however old.

What stays: the audit trail's events about the request (append-only, naming it
by id only), and the erasure record an erasure left (keyed digests only), which
erases a restored backup again (``erasure.py``).
"""

from __future__ import annotations

from sqlalchemy import CursorResult, delete, select

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome
from privacy_service.dsr.models import DsrNotice, DsrRequest
from privacy_service.dsr.states import FINAL_REQUEST_STATUSES
from privacy_service.policy import Period
from privacy_service.work import Work

#: Requests deleted per run at most, so one run stays a short transaction however much is due.
PURGE_BATCH = 1000


def purge_ended_requests(work: Work, *, keep: Period, limit: int = PURGE_BATCH) -> int:
    """Delete the requests that ended longer than ``keep`` ago, the oldest first; return how many.

    A run that deletes any records one ``dsr_records_purge`` event: how many
    and the cut-off, nothing about whom.
    """
    ended_before = keep.before(work.clock.now())
    due = work.session.scalars(
        select(DsrRequest.id)
        .where(
            DsrRequest.status.in_([status.value for status in FINAL_REQUEST_STATUSES]),
            DsrRequest.completed_at < ended_before,
        )
        .order_by(DsrRequest.completed_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # two workers purge different requests
    ).all()
    if not due:
        return 0
    undelivered = work.session.scalars(
        select(DsrNotice.key_owner).where(
            DsrNotice.request_id.in_(due), DsrNotice.message.is_not(None), DsrNotice.key_owner.is_not(None)
        )
    ).all()
    for key_owner in undelivered:
        if key_owner is not None:
            work.keyring.shred(session=work.session, subject_id=key_owner)
    result = work.session.execute(
        delete(DsrRequest).where(DsrRequest.id.in_(due)),
        execution_options={"synchronize_session": False},
    )
    assert isinstance(result, CursorResult)
    purged = result.rowcount
    audit.record(
        work,
        actor=SYSTEM,
        action=Action.DSR_RECORDS_PURGE,
        target=SYSTEM,
        outcome=Outcome.SUCCESS,
        details={
            "requests": purged,
            "ended_before": ended_before.isoformat(),
            "keep_months": keep.months,
        },
    )
    return purged
