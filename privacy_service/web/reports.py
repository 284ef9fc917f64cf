"""The console's yearly figures (``/console/stats``): requests per type and law, as ``GET /v1/dsr/stats``.

For compliance officers, as the queue is: the figures CCPA regulations §7102
ask a large business to publish each year, and the same per jurisdiction. A
plain GET form picks the year; nothing is changed, and, as for the queue,
nothing is recorded in the trail: the figures name no one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from privacy_service.dsr.schemas import FIRST_STATS_YEAR, LAST_STATS_YEAR
from privacy_service.dsr.stats import first_year, year_figures
from privacy_service.policy import Policies
from privacy_service.web.console import InvalidFilter
from privacy_service.web.routing import page_route
from privacy_service.web.staff import PageVisitor, as_officer
from privacy_service.web.visitors import CONSOLE

router = APIRouter(prefix=CONSOLE.root, route_class=page_route(CONSOLE), include_in_schema=False)


@router.get("/stats")
def stats_page(visitor: PageVisitor, year: Annotated[str | None, Query(max_length=8)] = None) -> Response:
    """One year's figures, the current year unless the form picked another; a blank is the current one."""
    as_officer(visitor)
    with visitor.work() as work:
        this_year = work.clock.now().year
        shown = _year(year) or this_year
        figures = year_figures(session=work.session, policies=visitor.fulfilment.policies, year=shown)
        earliest = first_year(session=work.session) or this_year
    return visitor.page(
        "console/stats.html",
        figures=figures,
        years=sorted({*range(min(earliest, this_year), this_year + 1), shown}, reverse=True),
        laws=_law_names(visitor.fulfilment.policies, codes=list(figures.by_jurisdiction)),
    )


def _year(value: str | None) -> int | None:
    """The year the form sent, within what the API answers for; ``InvalidFilter`` for anything else."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not FIRST_STATS_YEAR <= int(text) <= LAST_STATS_YEAR:
        raise InvalidFilter("year")
    return int(text)


def _law_names(policies: Policies, *, codes: list[str]) -> dict[str, str]:
    """Each jurisdiction's name as the policies give it; a code they no longer name stands for itself."""
    names = {item.code: item.name for item in (*policies.jurisdictions, policies.default)}
    return {code: names.get(code, code) for code in codes}
