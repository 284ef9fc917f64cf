"""Transfers of personal data outside the EU/EEA, and the ground each one rests on (GDPR Chapter V).

A transfer is judged from the shop's side: the controller is established in
the EU/EEA and sends data to a recipient in another country. Inside the EEA
nothing more is needed. A country with a Commission adequacy decision
(Art. 45) needs nothing more either, unless the decision covers only some
organisations there (the EU-US Data Privacy Framework covers certified
organisations only): then the recipient must be declared to fall under it
(``adequacy``). Any other country needs an appropriate safeguard of Art. 46
(standard contractual clauses, binding corporate rules) or, for occasional
transfers only, a derogation of Art. 49. China's PIPL standard contract
governs the export of the data onward from China; it is reported with the
recipient, but it is not a safeguard under the GDPR.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from privacy_service.policy.jurisdictions import normalise_country


class TransferMechanism(StrEnum):
    """What a recipient outside the EU/EEA is declared to receive the data under."""

    ADEQUACY = "adequacy"  # GDPR Art. 45
    BCRS = "bcrs"  # binding corporate rules, Art. 46(2)(b) and 47
    DEROGATION_49 = "derogation_49"  # Art. 49(1): occasional transfers only
    PIPL_STANDARD_CONTRACT = "pipl_standard_contract"  # PIPL Art. 38(1)(3): export from China
    SCCS = "sccs"  # standard contractual clauses, Art. 46(2)(c), Decision (EU) 2021/914

    @property
    def label(self) -> str:
        """The mechanism in words, for a record a person reads."""
        return _LABELS[self]


_LABELS = {
    TransferMechanism.ADEQUACY: "adequacy decision (GDPR Art. 45)",
    TransferMechanism.BCRS: "binding corporate rules (GDPR Art. 47)",
    TransferMechanism.DEROGATION_49: "derogation for a specific situation (GDPR Art. 49)",
    TransferMechanism.PIPL_STANDARD_CONTRACT: "PIPL standard contract (export from China)",
    TransferMechanism.SCCS: "standard contractual clauses (GDPR Art. 46(2)(c))",
}


#: The mechanisms that are appropriate safeguards under GDPR Art. 46.
ARTICLE_46_SAFEGUARDS = frozenset({TransferMechanism.BCRS, TransferMechanism.SCCS})


class TransferStatus(StrEnum):
    """How the transfer to one recipient stands."""

    ADEQUACY = "adequacy"
    APPROPRIATE_SAFEGUARDS = "appropriate_safeguards"
    DEROGATION = "derogation"
    NO_SAFEGUARD = "no_safeguard"
    UNKNOWN_COUNTRY = "unknown_country"
    WITHIN_EEA = "within_eea"


@dataclass(frozen=True)
class AdequacyDecision:
    """A Commission decision under GDPR Art. 45; ``scope`` says whom it covers when not the whole country."""

    country: str
    name: str
    decision: str
    scope: str | None = None


@dataclass(frozen=True)
class TransferAssessment:
    """The ground of one transfer; ``problem`` says, in words, why it has none (None when it has)."""

    status: TransferStatus
    mechanisms: tuple[TransferMechanism, ...] = ()
    adequacy: AdequacyDecision | None = None
    problem: str | None = None

    @property
    def third_country(self) -> bool | None:
        """Whether the data leaves the EU/EEA (a Chapter V transfer); None when the country is unknown."""
        if self.status is TransferStatus.UNKNOWN_COUNTRY:
            return None
        return self.status is not TransferStatus.WITHIN_EEA


@dataclass(frozen=True)
class TransferRules:
    """The EU/EEA countries and the adequacy decisions in force, as the policies list them."""

    eea: frozenset[str]
    adequacy: Mapping[str, AdequacyDecision]

    def assess(self, *, country: str | None, mechanisms: Collection[TransferMechanism]) -> TransferAssessment:
        """The ground for sending data to a recipient in ``country`` under the declared ``mechanisms``.

        A subdivision ("US-CA") is judged by its country ("US").
        """
        if country is None or not country.strip():
            return TransferAssessment(
                status=TransferStatus.UNKNOWN_COUNTRY,
                problem="its country is unknown, so whether its data leaves the EU/EEA is unknown",
            )
        code = normalise_country(country).partition("-")[0]
        if code in self.eea:
            return TransferAssessment(status=TransferStatus.WITHIN_EEA)
        declared = tuple(dict.fromkeys(mechanisms))  # in the order given, once each
        decision = self.adequacy.get(code)
        if decision is not None and (decision.scope is None or TransferMechanism.ADEQUACY in declared):
            return TransferAssessment(status=TransferStatus.ADEQUACY, mechanisms=declared, adequacy=decision)
        if any(mechanism in ARTICLE_46_SAFEGUARDS for mechanism in declared):
            return TransferAssessment(
                status=TransferStatus.APPROPRIATE_SAFEGUARDS,
                mechanisms=tuple(
                    mechanism for mechanism in declared if mechanism is not TransferMechanism.ADEQUACY
                ),
            )
        if TransferMechanism.DEROGATION_49 in declared:
            return TransferAssessment(
                status=TransferStatus.DEROGATION,
                mechanisms=tuple(
                    mechanism for mechanism in declared if mechanism is not TransferMechanism.ADEQUACY
                ),
            )
        return TransferAssessment(
            status=TransferStatus.NO_SAFEGUARD,
            mechanisms=declared,
            problem=_missing_ground(code, decision, declared),
        )


def _missing_ground(
    country: str, decision: AdequacyDecision | None, declared: tuple[TransferMechanism, ...]
) -> str:
    if decision is not None:
        return (
            f"{country} is adequate only for {decision.scope}; declare `adequacy` if the recipient is one, "
            "else sccs or bcrs"
        )
    if TransferMechanism.ADEQUACY in declared:
        return f"{country} has no EU adequacy decision in `transfers.adequacy`; declare sccs or bcrs"
    if TransferMechanism.PIPL_STANDARD_CONTRACT in declared:
        return (
            "the PIPL standard contract covers the export from China, not the transfer from the EU; "
            "add sccs or bcrs (GDPR Art. 46)"
        )
    return (
        f"{country} is outside the EU/EEA and has no adequacy decision; declare sccs, bcrs or derogation_49"
    )
