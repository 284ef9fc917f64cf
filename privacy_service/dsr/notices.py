"""Telling the subject about their request: a notice written with the request's change, delivered later.

A notice (acknowledged, extended, rejected, completed) is written in the
transaction that makes it true, with one outbox row per notice system (the
shop's mailer, a system registered for ``notice``): nothing is told that did
not happen, and nothing that happened goes untold. Its message, the subject's
address and the text in their language (``documents/``), is rendered then,
while the subject still exists, and sealed under a data key of its own: a
completion notice must still reach the subject after an erasure has shredded
their key. The worker delivers it as a signed ``dsr.notice`` webhook, leased
and retried as tasks are (``fanout.py``); once every notice system has it, or
gave up, the message is dropped and its key shredded. The notice row stays as
the record that the subject was told, listed on the request with
``delivered``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import Action, Outcome, Party, PartyType
from privacy_service.connectors import Delivery, DeliveryOutcome, Failed
from privacy_service.core.errors import DomainError
from privacy_service.core.ids import new_id
from privacy_service.documents import NoticeFacts, Remedies, RenderedNotice, RetainedFact
from privacy_service.dsr.encryption import NOTICE_MESSAGE_COLUMN
from privacy_service.dsr.fulfilment import Fulfilment
from privacy_service.dsr.models import ERROR_LENGTH, DsrNotice, DsrNoticeDelivery, DsrRequest, DsrTask
from privacy_service.dsr.outbox import lease_for, retry_delay
from privacy_service.dsr.schemas import NoticeView
from privacy_service.dsr.states import NoticeDeliveryStatus, NoticeKind
from privacy_service.dsr.systems import SystemTarget, find_target, systems_taking
from privacy_service.keys.fields import SubjectFields
from privacy_service.policy import Jurisdiction, Policies, SystemRequestType
from privacy_service.vault import service as vault
from privacy_service.vault.schemas import ProfileFields
from privacy_service.work import Work

#: How long a notice system is retried before the notice fails there: a mailer down longer needs a person.
DELIVERY_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class NoticeDetails:
    """What a notice says beyond the request itself; each kind fills its own fields."""

    extension_reason: str | None = None
    rejection_reason: str | None = None
    rejection_detail: str | None = None
    export_until: datetime | None = None
    retained: tuple[RetainedFact, ...] = ()


def write_notice(
    work: Work,
    *,
    fulfilment: Fulfilment,
    request: DsrRequest,
    kind: NoticeKind,
    details: NoticeDetails | None = None,
) -> DsrNotice:
    """Record that ``kind`` is to be told, and queue it to every notice system, in the caller's unit of work.

    Without a notice system, or without a subject to address (erased by another request), the notice is
    recorded undelivered: the request shows the subject was not told by the service.
    """
    notice = DsrNotice(id=new_id(), request_id=request.id, kind=kind.value, created_at=work.clock.now())
    work.session.add(notice)
    systems = systems_taking(
        session=work.session, policies=fulfilment.policies, request_type=SystemRequestType.NOTICE
    )
    profile = _profile(work, subject_id=request.subject_id) if systems else None
    if profile is None:
        return notice
    rendered = render_notice(
        fulfilment, request=request, profile=profile, kind=kind, details=details, language=profile.locale
    )
    message = {
        "type": "dsr.notice",
        "request_id": request.id,
        "kind": kind.value,
        "subject": {
            "id": request.subject_id,
            "email": profile.email,
            "locale": profile.locale or rendered.language,
        },
        "language": rendered.language,
        "subject_line": rendered.subject_line,
        "text": rendered.text,
        "html": rendered.html,
    }
    notice.key_owner = f"notice:{notice.id}"
    key = work.keyring.create(session=work.session, subject_id=notice.key_owner)
    sealed = SubjectFields(key=key, table=DsrNotice.__tablename__, subject_id=notice.key_owner)
    notice.message = sealed.encrypt_json(NOTICE_MESSAGE_COLUMN, message)
    now = work.clock.now()
    for system in systems:
        delivery_id = new_id()
        work.session.add(
            DsrNoticeDelivery(
                id=delivery_id,
                notice_id=notice.id,
                system=system,
                status=NoticeDeliveryStatus.PENDING.value,
                webhook_id=f"msg_{delivery_id}",
                attempts=0,
                next_attempt_at=now,
            )
        )
    work.after_commit(fulfilment.new_tasks.notify)
    return notice


def render_notice(
    fulfilment: Fulfilment,
    *,
    request: DsrRequest,
    profile: ProfileFields,
    kind: NoticeKind,
    details: NoticeDetails | None,
    language: str | None,
) -> RenderedNotice:
    """The ``kind`` notice of ``request`` in the shop's template best matching ``language``."""
    facts = _facts(fulfilment, request=request, profile=profile, details=details or NoticeDetails())
    return fulfilment.texts.notice(kind.value, language=language, facts=facts)


def _profile(work: Work, *, subject_id: str) -> ProfileFields | None:
    try:
        return vault.read_profile(work, subject_id=subject_id)
    except DomainError:
        return None


def jurisdiction_named(policies: Policies, code: str) -> Jurisdiction:
    """The jurisdiction a request was filed under; the default when the policies no longer list it."""
    return policies.jurisdiction_coded(code) or policies.default


def remedies_of(policies: Policies, jurisdiction: Jurisdiction) -> Remedies:
    """Where a refused subject can turn under ``jurisdiction`` (``policies/remedies.yaml``): its first
    supervisory authority (the lead one, where the shop names it) and the courts."""
    remedies = policies.remedies_for(jurisdiction)
    if remedies is None or not remedies.authorities:
        return Remedies(
            authority=jurisdiction.supervisory_authority or "the data protection supervisory authority"
        )
    first = remedies.authorities[0]
    return Remedies(authority=first.name, address=first.address, url=first.url, courts=remedies.courts)


def _facts(
    fulfilment: Fulfilment, *, request: DsrRequest, profile: ProfileFields, details: NoticeDetails
) -> NoticeFacts:
    jurisdiction = jurisdiction_named(fulfilment.policies, request.jurisdiction)
    return NoticeFacts(
        request_id=request.id,
        request_type=request.type,
        received_at=request.received_at,
        due_at=request.due_at,
        jurisdiction=jurisdiction.name,
        law=jurisdiction.law,
        privacy_center_url=f"{fulfilment.public_url}/privacy/",
        given_name=profile.given_name,
        extension_reason=details.extension_reason,
        rejection_reason=details.rejection_reason,
        rejection_detail=details.rejection_detail,
        remedies=remedies_of(fulfilment.policies, jurisdiction),
        outcome=request.status,
        export_until=details.export_until,
        retained=details.retained,
    )


def retained_facts(work: Work, *, request_id: str) -> tuple[RetainedFact, ...]:
    """What each system said it keeps under a legal obligation, as a completion notice tells it."""
    facts: list[RetainedFact] = []
    for system, retained in work.session.execute(
        select(DsrTask.system, DsrTask.retained)
        .where(DsrTask.request_id == request_id, DsrTask.retained.is_not(None))
        .order_by(DsrTask.system)
    ):
        for item in json.loads(retained or "[]"):
            facts.append(
                RetainedFact(
                    system=system, category=item["category"], reason=item["reason"], until=item.get("until")
                )
            )
    return tuple(facts)


def notice_views(work: Work, *, request_ids: Sequence[str]) -> dict[str, list[NoticeView]]:
    """Each request's notices as written, ``delivered`` once every notice system has taken it."""
    views: dict[str, list[NoticeView]] = {request_id: [] for request_id in request_ids}
    if not request_ids:
        return views
    notices = work.session.scalars(
        select(DsrNotice)
        .where(DsrNotice.request_id.in_(list(request_ids)))
        .order_by(DsrNotice.created_at, DsrNotice.id)
    ).all()
    statuses: dict[str, list[str]] = {notice.id: [] for notice in notices}
    if notices:
        for notice_id, status in work.session.execute(
            select(DsrNoticeDelivery.notice_id, DsrNoticeDelivery.status).where(
                DsrNoticeDelivery.notice_id.in_(list(statuses))
            )
        ):
            statuses[notice_id].append(status)
    for notice in notices:
        seen = statuses[notice.id]
        delivered = bool(seen) and all(status == NoticeDeliveryStatus.DELIVERED.value for status in seen)
        views[notice.request_id].append(
            NoticeView(kind=NoticeKind(notice.kind), at=notice.created_at, delivered=delivered)
        )
    return views


@dataclass(frozen=True)
class NoticeLease:
    """A notice delivery leased for one attempt."""

    delivery_id: str
    attempt: int
    delivery: Delivery

    def answered(self, outcome: DeliveryOutcome) -> NoticeAnswer:
        return NoticeAnswer(delivery_id=self.delivery_id, attempt=self.attempt, outcome=outcome)


@dataclass(frozen=True)
class NoticeAnswer:
    delivery_id: str
    attempt: int
    outcome: DeliveryOutcome


def lease_due_notices(work: Work, *, fulfilment: Fulfilment, limit: int) -> list[NoticeLease]:
    """Lease up to ``limit`` due notice deliveries and build their webhooks; one that cannot be sent fails."""
    if limit <= 0:
        return []
    now = work.clock.now()
    rows = work.session.execute(
        select(DsrNoticeDelivery, DsrNotice)
        .join(DsrNotice, DsrNoticeDelivery.notice_id == DsrNotice.id)
        .where(
            DsrNoticeDelivery.status == NoticeDeliveryStatus.PENDING.value,
            DsrNoticeDelivery.next_attempt_at <= now,
            or_(DsrNoticeDelivery.lease_until.is_(None), DsrNoticeDelivery.lease_until < now),
        )
        .order_by(DsrNoticeDelivery.next_attempt_at, DsrNoticeDelivery.id)
        .limit(limit)
        .with_for_update(of=DsrNoticeDelivery, skip_locked=True)
    ).all()
    leases: list[NoticeLease] = []
    ended: set[str] = set()
    targets: dict[str, SystemTarget | None] = {}
    for delivery, notice in rows:
        if delivery.system not in targets:
            targets[delivery.system] = find_target(work, policies=fulfilment.policies, name=delivery.system)
        target = targets[delivery.system]
        if notice.created_at + DELIVERY_WINDOW <= now:
            _fail(work, delivery=delivery, notice=notice, error=delivery.last_error or "no attempt left")
            ended.add(notice.id)
            continue
        if target is None or notice.message is None or notice.key_owner is None:
            reason = "the system is no longer registered" if target is None else "the message is gone"
            _fail(work, delivery=delivery, notice=notice, error=reason)
            ended.add(notice.id)
            continue
        message = work.subject_fields(table=DsrNotice.__tablename__, subject_id=notice.key_owner).open_json(
            NOTICE_MESSAGE_COLUMN, notice.message
        )
        delivery.attempts += 1
        delivery.lease_until = now + lease_for(target.timeout_seconds)
        leases.append(
            NoticeLease(
                delivery_id=delivery.id,
                attempt=delivery.attempts,
                delivery=Delivery(
                    system=target.name,
                    url=target.url,
                    secret=target.secret,
                    webhook_id=delivery.webhook_id,
                    payload=message,
                    timeout_seconds=target.timeout_seconds,
                    expects_answer=False,
                ),
            )
        )
    for notice_id in sorted(ended):
        _drop_message_if_done(work, notice_id=notice_id)
    return leases


def record_notice_outcomes(
    work: Work,
    *,
    fulfilment: Fulfilment,
    outcomes: Sequence[NoticeAnswer],
    rng: random.Random,
) -> None:
    """Write what notice deliveries came to; a notice every system has answered for loses its message."""
    deliveries = {
        row.id: row
        for row in work.session.scalars(
            select(DsrNoticeDelivery)
            .where(DsrNoticeDelivery.id.in_([answer.delivery_id for answer in outcomes]))
            .order_by(DsrNoticeDelivery.id)
            .with_for_update()
        )
    }
    notices = {
        notice.id: notice
        for notice in work.session.scalars(
            select(DsrNotice).where(DsrNotice.id.in_({row.notice_id for row in deliveries.values()}))
        )
    }
    touched: set[str] = set()
    now = work.clock.now()
    for answer in sorted(outcomes, key=lambda item: item.delivery_id):
        delivery = deliveries.get(answer.delivery_id)
        failed = isinstance(answer.outcome, Failed)
        if delivery is None or delivery.status != NoticeDeliveryStatus.PENDING.value:
            continue
        if failed and answer.attempt != delivery.attempts:
            continue  # leased again since: the newer attempt reports
        notice = notices[delivery.notice_id]
        delivery.lease_until = None
        touched.add(notice.id)
        if not isinstance(answer.outcome, Failed):
            delivery.status = NoticeDeliveryStatus.DELIVERED.value
            delivery.delivered_at = now
            delivery.last_error = None
            _record(
                work,
                delivery=delivery,
                notice=notice,
                action=Action.DSR_NOTICE_DELIVER,
                outcome=Outcome.SUCCESS,
            )
            continue
        next_attempt = now + retry_delay(
            attempts=delivery.attempts, minimum=fulfilment.retry_min, maximum=fulfilment.retry_max, rng=rng
        )
        if not answer.outcome.retryable or next_attempt >= notice.created_at + DELIVERY_WINDOW:
            _fail(work, delivery=delivery, notice=notice, error=answer.outcome.error)
            continue
        delivery.last_error = answer.outcome.error[:ERROR_LENGTH]
        delivery.next_attempt_at = next_attempt
    for notice_id in sorted(touched):
        _drop_message_if_done(work, notice_id=notice_id)


def _fail(work: Work, *, delivery: DsrNoticeDelivery, notice: DsrNotice, error: str) -> None:
    delivery.status = NoticeDeliveryStatus.FAILED.value
    delivery.lease_until = None
    delivery.last_error = error[:ERROR_LENGTH]
    _record(work, delivery=delivery, notice=notice, action=Action.DSR_NOTICE_FAIL, outcome=Outcome.FAILURE)


def _record(
    work: Work, *, delivery: DsrNoticeDelivery, notice: DsrNotice, action: Action, outcome: Outcome
) -> None:
    details: dict[str, Any] = {"kind": notice.kind, "attempts": delivery.attempts}
    if delivery.last_error:
        details["error"] = delivery.last_error
    audit.record(
        work,
        actor=Party(type=PartyType.DOWNSTREAM_SYSTEM, id=delivery.system),
        action=action,
        target=Party(type=PartyType.DSR, id=notice.request_id),
        outcome=outcome,
        details=details,
    )


def _drop_message_if_done(work: Work, *, notice_id: str) -> None:
    """Once no notice system still waits for the message, drop it and shred its key."""
    pending = work.session.scalar(
        select(DsrNoticeDelivery.id)
        .where(
            DsrNoticeDelivery.notice_id == notice_id,
            DsrNoticeDelivery.status == NoticeDeliveryStatus.PENDING.value,
        )
        .limit(1)
    )
    notice = work.session.get(DsrNotice, notice_id)
    if pending is not None or notice is None or notice.key_owner is None or notice.message is None:
        return
    notice.message = None
    work.keyring.shred(session=work.session, subject_id=notice.key_owner)
