"""What the summary page of an export bundle may say: the facts its templates see.

The page (``summary.html`` in the bundle, in the subject's language) explains
the archive and gives the information GDPR Art. 15(1)-(2) requires besides
the data itself; that information is ``article15``, the same document as the
bundle's ``article15.json`` (``policy.article15``), so the page and the
machine-readable file never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from privacy_service.documents.notices import RetainedFact


@dataclass(frozen=True)
class SystemAnswer:
    """How one downstream system answered the request, and what it keeps under a legal obligation."""

    system: str
    status: str  # dsr.states.TaskStatus's value
    retained: tuple[RetainedFact, ...] = ()


@dataclass(frozen=True)
class SummaryFacts:
    request_id: str
    received_at: datetime
    generated_at: datetime
    own_system: str  # the file data/<own_system>.json holds what this service keeps
    systems: tuple[SystemAnswer, ...]
    article15: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderedSummary:
    language: str
    html: str


_CONTACT = {"name": "Sample GmbH", "address": "1 Sample Street", "email": "privacy@sample.example"}
#: Every key of policy.article15's document, with both a known and an unknown value where one may be null.
SAMPLE_SUMMARY = SummaryFacts(
    request_id="01JSAMPLE0000000000000000",
    received_at=datetime(2027, 1, 31, 9, 30, tzinfo=UTC),
    generated_at=datetime(2027, 2, 3, 10, 0, tzinfo=UTC),
    own_system="privacy-service",
    systems=(
        SystemAnswer(system="orders", status="completed"),
        SystemAnswer(
            system="invoicing",
            status="failed",
            retained=(
                RetainedFact(system="invoicing", category="invoices", reason="law", until="2035-12-31"),
            ),
        ),
    ),
    article15={
        "controller": {**_CONTACT, "dpo": dict(_CONTACT), "eu_representative": None},
        "jurisdiction": {"code": "sample", "name": "Sample", "law": "Sample law"},
        "purposes": [
            {
                "code": "orders",
                "description": "Orders",
                "categories": ["orders"],
                "data_subjects": ["customers"],
                "legal_basis": {"code": "contract", "provision": "Art. 6(1)(b)", "text": "Contract"},
            }
        ],
        "categories": [
            {
                "code": "orders",
                "described": True,
                "description": "Orders",
                "source": {"from_subject": True, "name": None},
                "provided_by_subject": True,
                "held_by": ["orders"],
                "retention": {
                    "period": "3 years",
                    "criteria": "Criteria",
                    "legal_obligations": [{"keep_for": "8 years", "legal_basis": "Law", "countries": ["DE"]}],
                },
            },
            {
                "code": "legacy",
                "described": False,
                "description": None,
                "source": None,
                "provided_by_subject": None,
                "held_by": ["legacy"],
                "retention": {"period": None, "criteria": None, "legal_obligations": []},
            },
        ],
        "recipients": [
            {
                "name": "fulfilment",
                "description": "Fulfilment",
                "role": "processor",
                "categories": ["orders"],
                "holds_data": False,
                "country": "CN",
                "transfer": {
                    "status": "appropriate_safeguards",
                    "third_country": True,
                    "mechanisms": ["sccs", "pipl_standard_contract"],
                    "adequacy_decision": None,
                },
                "note": None,
            },
            {
                "name": "legacy",
                "description": None,
                "role": None,
                "categories": ["legacy"],
                "holds_data": True,
                "country": None,
                "transfer": {
                    "status": "unknown_country",
                    "third_country": None,
                    "mechanisms": [],
                    "adequacy_decision": "Sample decision",
                },
                "note": "Unknown",
            },
        ],
        "automated_decisions": [
            {
                "code": "fraud",
                "logic": "Logic",
                "significance": "S",
                "consequences": "C",
                "categories": ["orders"],
            }
        ],
        "rights": [{"right": "access", "name": "Right of access", "provision": "Art. 15"}],
        "remedies": {
            "jurisdiction": "sample",
            "complaint": "Complaint",
            "courts": "Courts",
            "authorities": [
                {"name": "Authority", "address": "Street", "url": "https://a.example", "role": None}
            ],
        },
    },
)
