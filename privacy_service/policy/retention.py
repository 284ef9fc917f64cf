"""Retention rules: data a law obliges the shop to keep, even against an erasure request.

GDPR Art. 17(3)(b) lets a controller keep data that a legal obligation requires
it to keep; each rule names that obligation, so the subject can be told why
(the ``retained`` part of an answer, the export's retention section).
"""

from __future__ import annotations

from dataclasses import dataclass

from privacy_service.policy.jurisdictions import normalise_country
from privacy_service.policy.period import Period


@dataclass(frozen=True)
class RetentionRule:
    category: str
    countries: frozenset[str]
    keep_for: Period
    legal_basis: str

    def applies_to(self, country: str | None) -> bool:
        """A rule without countries applies everywhere; "US-CA" also matches a rule listing "US".

        An unknown country (None) is bound only by the rules that apply everywhere.
        """
        if not self.countries:
            return True
        if country is None or not country.strip():
            return False
        code = normalise_country(country)
        return code in self.countries or code.partition("-")[0] in self.countries
