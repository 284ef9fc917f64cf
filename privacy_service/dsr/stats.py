"""A year's figures of data subject requests, per type and per jurisdiction (``GET /v1/dsr/stats``).

CCPA regulations §7102(a) ask a large business to publish, each calendar
year and per type of request, how many it received, complied with in whole or
in part, and denied, and the median or mean days it took to answer; officers
want the same per law. Requests count in the year they were received (UTC),
however they stand now: an open one is ``open``, and ``received`` is the sum.
The median runs from ``received_at`` to ``completed_at`` over the requests
that ended, refusals included (a refusal is an answer).

Two queries over the year's requests only: one counts them by type,
jurisdiction and status in the database; the other reads the days to answer
of the ended ones, as the database computes them, and nothing else, for the
medians.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import MAXYEAR, UTC, datetime

from sqlalchemy import ColumnElement, Float, cast, extract, func, select
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
    """The median days to answer of the ended requests of each group, to one decimal.

    Only each ended request's type, jurisdiction and days are read, unsorted:
    ranking them in SQL instead (window functions, which both databases have)
    cost twice the CPU on SQLite and sorted on disk on PostgreSQL
    (``benchmarks/dsr_stats.py``).
    """
    rows = session.execute(
        select(
            DsrRequest.type, DsrRequest.jurisdiction, days_to_answer(session.get_bind().dialect.name)
        ).where(
            *in_year,
            DsrRequest.status.in_([status.value for status in FINAL_REQUEST_STATUSES]),
            DsrRequest.completed_at.is_not(None),
        )
    )
    durations: dict[tuple[str, str | None], list[float]] = {}
    for kind, jurisdiction, days in rows:
        durations.setdefault((kind, None), []).append(days)
        durations.setdefault((kind, jurisdiction), []).append(days)
    return {
        (RequestType(kind), jurisdiction): round(statistics.median(values), 1)
        for (kind, jurisdiction), values in durations.items()
    }


def days_to_answer(dialect: str) -> ColumnElement[float]:
    """Days (with their fraction) from a request's receipt to its answer, as a float, in the database's own
    arithmetic: PostgreSQL's interval in seconds (a ``numeric``, cast), SQLite's Julian day numbers."""
    if dialect == "postgresql":
        seconds = cast(extract("epoch", DsrRequest.completed_at - DsrRequest.received_at), Float())
        return seconds / SECONDS_A_DAY
    return cast(func.julianday(DsrRequest.completed_at) - func.julianday(DsrRequest.received_at), Float())
