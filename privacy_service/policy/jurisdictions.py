"""A jurisdiction: which law answers a data subject, by where they live.

The law sets how long the shop has to answer (the deadline, how it is counted
and whether it ends on a working day), whether it may take longer (the
extension), how soon the request must be acknowledged, and whom the subject
may complain to. Whether a request needs a compliance officer's approval
first is the shop's own choice, kept with the jurisdiction so it can differ
per law.
"""

from __future__ import annotations

from dataclasses import dataclass

from privacy_service.policy.period import Period, TimeLimit, WorkingDays
from privacy_service.policy.request_types import RequestType


@dataclass(frozen=True, kw_only=True)
class Jurisdiction:
    code: str
    name: str
    law: str
    countries: frozenset[str]
    deadline: TimeLimit
    #: Where the deadline comes from when the law sets no number (PIPL Art. 50: "timely").
    deadline_note: str | None = None
    #: A deadline or extension ending on a weekend or listed holiday ends on the next working day instead.
    roll_to_working_day: bool = False
    #: Months or days on the calendar ("2 further months", "45 days"), as the laws extend.
    extension: Period | None
    #: How soon the request must be acknowledged; None where the law sets nothing.
    acknowledge_within: TimeLimit | None = None
    approval: frozenset[RequestType]
    supervisory_authority: str | None = None

    @property
    def counts_working_days(self) -> bool:
        """Whether public holidays can move any of this law's dates."""
        limits = (self.deadline, self.extension, self.acknowledge_within)
        return self.roll_to_working_day or any(
            isinstance(limit, WorkingDays) and not limit.is_zero for limit in limits
        )


def normalise_country(country: str) -> str:
    """ISO 3166 codes compare upper-case and trimmed: "us-ca" is "US-CA"."""
    return country.strip().upper()
