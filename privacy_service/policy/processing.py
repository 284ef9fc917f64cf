"""What the shop does with personal data, from ``policies/processing.yaml``.

The same facts answer two duties: the information every access request must
carry (GDPR Art. 15(1)-(2): purposes, categories, recipients and transfers,
retention, source, automated decisions) and the record of processing
activities the controller keeps (Art. 30(1)). They are the shop's own legal
choices; the shipped file is an example to review, not legal advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from privacy_service.policy.period import Period
from privacy_service.policy.transfers import TransferAssessment, TransferMechanism, TransferRules

#: ``source: subject``: collected from the data subject themself (else Art. 15(1)(g): the source is named).
FROM_SUBJECT = "subject"


class LegalBasis(StrEnum):
    """The lawful basis of a purpose, GDPR Art. 6(1)(a) to (f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGITIMATE_INTERESTS = "legitimate_interests"
    PUBLIC_TASK = "public_task"
    VITAL_INTERESTS = "vital_interests"

    @property
    def provision(self) -> str:
        """The point of Art. 6(1) it is: "GDPR Art. 6(1)(b)"."""
        return f"GDPR Art. 6(1)({_POINTS[self]})"


_POINTS = {
    LegalBasis.CONSENT: "a",
    LegalBasis.CONTRACT: "b",
    LegalBasis.LEGAL_OBLIGATION: "c",
    LegalBasis.VITAL_INTERESTS: "d",
    LegalBasis.PUBLIC_TASK: "e",
    LegalBasis.LEGITIMATE_INTERESTS: "f",
}


class RecipientRole(StrEnum):
    """A processor acts on the shop's instructions (Art. 28); a controller decides for itself."""

    CONTROLLER = "controller"
    PROCESSOR = "processor"


@dataclass(frozen=True)
class Contact:
    """A person or office to reach; at least one of address and email is known."""

    name: str | None = None
    address: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Controller:
    name: str
    address: str
    email: str
    dpo: Contact | None = None
    eu_representative: Contact | None = None


@dataclass(frozen=True)
class Purpose:
    code: str
    description: str
    legal_basis: LegalBasis
    legal_basis_text: str
    categories: tuple[str, ...]
    data_subjects: tuple[str, ...]


@dataclass(frozen=True)
class Retention:
    """How long a category is kept when no legal obligation keeps it longer: a period, criteria, or both."""

    period: Period | None = None
    criteria: str | None = None

    def describe(self) -> str:
        """In sentences: "3 years. From the end of the year of the order." or just one of the two."""
        parts = [self.period.describe()] if self.period is not None else []
        if self.criteria:
            parts.append(self.criteria.strip())
        return " ".join(part if part.endswith((".", "!", "?")) else f"{part}." for part in parts)


@dataclass(frozen=True)
class DataCategory:
    code: str
    description: str
    source: str
    provided_by_subject: bool
    retention: Retention

    @property
    def from_subject(self) -> bool:
        """Collected from the data subject; otherwise ``source`` names where it came from (Art. 14(2)(f))."""
        return self.source == FROM_SUBJECT


@dataclass(frozen=True)
class Recipient:
    """Someone the shop discloses personal data to: a downstream system by its name, or a third party.

    ``purposes`` empty means every purpose that uses one of its ``categories``.
    """

    name: str
    description: str | None
    role: RecipientRole
    categories: tuple[str, ...]
    country: str
    mechanisms: tuple[TransferMechanism, ...] = ()
    purposes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AutomatedDecision:
    """A decision based solely on automated processing, with meaningful information about it (Art. 22)."""

    code: str
    logic: str
    significance: str
    consequences: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessingRecord:
    """Everything ``processing.yaml`` declares, checked across its entries by the loader."""

    controller: Controller
    purposes: tuple[Purpose, ...]
    categories: tuple[DataCategory, ...]
    recipients: tuple[Recipient, ...]
    automated_decisions: tuple[AutomatedDecision, ...]
    transfers: TransferRules
    security_measures: tuple[str, ...] = ()

    def category(self, code: str) -> DataCategory | None:
        return next((category for category in self.categories if category.code == code), None)

    def recipient(self, name: str) -> Recipient | None:
        return next((recipient for recipient in self.recipients if recipient.name == name), None)

    def transfer_to(self, recipient: Recipient) -> TransferAssessment:
        """The ground on which ``recipient`` receives data from the EU/EEA."""
        return self.transfers.assess(country=recipient.country, mechanisms=recipient.mechanisms)

    def purposes_of(self, recipient: Recipient) -> tuple[Purpose, ...]:
        """The purposes ``recipient`` serves: those it names, else those using one of its categories."""
        if recipient.purposes:
            return tuple(purpose for purpose in self.purposes if purpose.code in recipient.purposes)
        received = set(recipient.categories)
        return tuple(purpose for purpose in self.purposes if received.intersection(purpose.categories))

    def recipients_of(self, purpose: Purpose) -> tuple[Recipient, ...]:
        """The recipients that receive data for ``purpose``."""
        return tuple(recipient for recipient in self.recipients if purpose in self.purposes_of(recipient))
