"""A jurisdiction: which law answers a data subject, by where they live.

The law sets how long the shop has to answer (the deadline), whether it may
take longer (the extension), and whom the subject may complain to. Whether a
request needs a compliance officer's approval first is the shop's own choice,
kept with the jurisdiction so it can differ per law.
"""

from __future__ import annotations

from dataclasses import dataclass

from privacy_service.policy.period import Period
from privacy_service.policy.request_types import RequestType


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str
    law: str
    countries: frozenset[str]
    deadline: Period
    extension: Period | None
    approval: frozenset[RequestType]
    supervisory_authority: str | None = None


def normalise_country(country: str) -> str:
    """ISO 3166 codes compare upper-case and trimmed: "us-ca" is "US-CA"."""
    return country.strip().upper()
