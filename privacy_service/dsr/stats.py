"""A year's figures of data subject requests, per type and per jurisdiction (``GET /v1/dsr/stats``).

CCPA regulations §7102(a) ask a large business to publish, each calendar
year and per type of request, how many it received, complied with in whole or
in part, and denied, and the median or mean days it took to answer; officers
want the same per law. Requests count in the year they were received (UTC),
however they stand now: an open one is ``open``, and ``received`` is the sum.
The median runs from ``received_at`` to ``completed_at`` over the requests
that ended, refusals included (a refusal is an answer).

Both queries run in the database, over the year's requests only: one counts
by type, jurisdiction and status; the other ranks the ended requests by their
days to answer within each type and each type in a jurisdiction (window
functions, which SQLite and PostgreSQL share) and returns the one or two
middle rows of each group, never every duration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import MAXYEAR, UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, extract, func, or_, select
from sqlalchemy.orm import Session

from privacy_service.dsr.models import DsrRequest
from privacy_service.dsr.schemas import JurisdictionFigures, RequestFigures, YearFigures
from privacy_service.dsr.states import FINAL_REQUEST_STATUSES, RequestStatus
from privacy_service.policy import Policies, RequestType

SECONDS_A_DAY = 86_400

#: A type of request, alone (every jurisdiction) or in one jurisdiction.
Group = tuple[RequestType, str | None]


def year_figures(*, session: Session, policies: Policies, year: int) -> YearFigures:
    """The figures of the requests received in ``year``, every jurisdiction of ``policies`` included."""
    in_year = _received_in(year)
    counts: dict[Group, Counter[RequestStatus]] = {}
    jurisdictions = [jurisdiction.code for jurisdiction in (*policies.jurisdictions, policies.default)]
    rows = session.execute(
        select(DsrRequest.type, DsrRequest.jurisdiction, DsrRequest.status, func.count())
        .where(*in_year)
        .group_by(DsrRequest.type, DsrRequest.jurisdiction, DsrRequest.status)
    ).all()
    for kind, jurisdiction, status, count in rows:
        for group in ((RequestType(kind), None), (RequestType(kind), jurisdiction)):
            counts.setdefault(group, Counter())[RequestStatus(status)] += count
        if jurisdiction not in jurisdictions:  # filed under a law the policies no longer name
            jurisdictions.append(jurisdiction)
    medians = _median_days(session=session, in_year=in_year)

    def figures(kind: RequestType, jurisdiction: str | None) -> RequestFigures:
        return _figures(counts.get((kind, jurisdiction), Counter()), medians.get((kind, jurisdiction)))

    return YearFigures(
        year=year,
        access=figures(RequestType.ACCESS, None),
        erasure=figures(RequestType.ERASURE, None),
        by_jurisdiction={
            code: JurisdictionFigures(
                access=figures(RequestType.ACCESS, code), erasure=figures(RequestType.ERASURE, code)
            )
            for code in jurisdictions
        },
    )


def first_year(*, session: Session) -> int | None:
    """The year the earliest request on record was received; None while there is none."""
    earliest: datetime | None = session.scalar(select(func.min(DsrRequest.received_at)))
    return None if earliest is None else earliest.year


def _received_in(year: int) -> list[ColumnElement[bool]]:
    """Received on or after 1 January of ``year``, and before 1 January of the next (UTC)."""
    conditions = [DsrRequest.received_at >= datetime(year, 1, 1, tzinfo=UTC)]
    if year < MAXYEAR:
        conditions.append(DsrRequest.received_at < datetime(year + 1, 1, 1, tzinfo=UTC))
    return conditions


def _figures(statuses: Counter[RequestStatus], median_days: float | None) -> RequestFigures:
    return RequestFigures(
        received=statuses.total(),
        completed=statuses[RequestStatus.COMPLETED],
        partially_completed=statuses[RequestStatus.PARTIALLY_COMPLETED],
        rejected=statuses[RequestStatus.REJECTED],
        failed=statuses[RequestStatus.FAILED],
        open=sum(count for status, count in statuses.items() if status not in FINAL_REQUEST_STATUSES),
        median_days=median_days,
    )


def _median_days(*, session: Session, in_year: Iterable[ColumnElement[bool]]) -> dict[Group, float]:
    """The median days to answer of the ended requests of each group, to one decimal."""
    days = _days_to_answer(session.get_bind().dialect.name)
    by_type = [DsrRequest.type]
    by_jurisdiction = [DsrRequest.type, DsrRequest.jurisdiction]
    ranked = (
        select(
            DsrRequest.type.label("type"),
            DsrRequest.jurisdiction.label("jurisdiction"),
            days.label("days"),
            func.row_number().over(partition_by=by_type, order_by=days).label("type_rank"),
            func.count().over(partition_by=by_type).label("type_count"),
            func.row_number().over(partition_by=by_jurisdiction, order_by=days).label("jurisdiction_rank"),
            func.count().over(partition_by=by_jurisdiction).label("jurisdiction_count"),
        )
        .where(
            *in_year,
            DsrRequest.status.in_([status.value for status in FINAL_REQUEST_STATUSES]),
            DsrRequest.completed_at.is_not(None),
        )
        .subquery()
    )
    middle_rows = session.execute(
        select(ranked).where(
            or_(
                *_in_the_middle(ranked.c.type_rank, ranked.c.type_count),
                *_in_the_middle(ranked.c.jurisdiction_rank, ranked.c.jurisdiction_count),
            )
        )
    ).all()
    middles: dict[Group, list[float]] = {}
    for row in middle_rows:
        kind = RequestType(row.type)
        if _is_middle(row.type_rank, row.type_count):
            middles.setdefault((kind, None), []).append(float(row.days))
        if _is_middle(row.jurisdiction_rank, row.jurisdiction_count):
            middles.setdefault((kind, row.jurisdiction), []).append(float(row.days))
    return {group: round(sum(values) / len(values), 1) for group, values in middles.items()}


def _in_the_middle(rank: Any, count: Any) -> list[ColumnElement[bool]]:
    """The row ranked in the middle of ``count``: one when ``count`` is odd, the two middle ones when even."""
    return [rank == (count + 1) // 2, rank == (count + 2) // 2]


def _is_middle(rank: int, count: int) -> bool:
    return rank in {(count + 1) // 2, (count + 2) // 2}


def _days_to_answer(dialect: str) -> ColumnElement[Any]:
    """Days (with their fraction) from a request's receipt to its answer, in the database's own arithmetic."""
    if dialect == "postgresql":
        return extract("epoch", DsrRequest.completed_at - DsrRequest.received_at) / SECONDS_A_DAY
    return func.julianday(DsrRequest.completed_at) - func.julianday(DsrRequest.received_at)
