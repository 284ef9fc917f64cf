"""What an access answer must tell the subject besides their data (GDPR Art. 15(1)-(2)), as a JSON document.

``article15_information`` draws it from the policies alone: the purposes and
their legal bases, the categories with their source and retention, the
recipients with their country and transfer safeguard, automated decisions,
the subject's rights under their law and the supervisory authorities and
courts. It becomes ``article15.json`` in the export bundle, and the page in
the subject's language is rendered from it. Pure: the downstream systems that
hold the subject's data are passed in as plain data.

Transfers are judged from the controller's side (the shop in the EU/EEA
sending to a recipient's country); retention by the rules of the subject's
country, as erasures are. Every key is always present; a value that is not
known is null. The shape::

    {
      "controller": {"name", "address", "email",
                     "dpo": {"name", "address", "email"} | null,
                     "eu_representative": {"name", "address", "email"} | null},
      "jurisdiction": {"code", "name", "law"},
      "purposes": [{"code", "description", "categories": [str], "data_subjects": [str],
                    "legal_basis": {"code": "contract", "provision": "GDPR Art. 6(1)(b)", "text"}}],
      "categories": [{"code", "described": bool, "description": str | null,
                      "source": {"from_subject": bool, "name": str | null} | null,
                      "provided_by_subject": bool | null,
                      "held_by": [system name],
                      "retention": {"period": "3 years" | null, "criteria": str | null,
                                    "legal_obligations": [{"keep_for", "legal_basis", "countries": [str]}]}}],
      "recipients": [{"name", "description": str | null, "role": "processor" | "controller" | null,
                      "categories": [str], "holds_data": bool, "country": "CN" | null,
                      "transfer": {"status": "within_eea" | "adequacy" | "appropriate_safeguards"
                                             | "derogation" | "no_safeguard" | "unknown_country",
                                   "third_country": bool | null,
                                   "mechanisms": ["sccs", "pipl_standard_contract", ...],
                                   "adequacy_decision": str | null},
                      "note": str | null}],
      "automated_decisions": [{"code", "logic", "significance", "consequences", "categories": [str]}],
      "rights": [{"right": "access", "name", "provision"}],
      "remedies": {"jurisdiction": code, "complaint", "courts",
                   "authorities": [{"name", "address", "url", "role": str | null}]} | null
    }

``categories`` lists every category the policies describe, then any other a
system holds (``described: false``). ``recipients`` lists those the policies
declare, then every system holding data that they do not (its country
unknown, ``note`` says so). ``rights`` and ``remedies`` are the subject's
jurisdiction's, else the default's (``remedies.jurisdiction`` says whose).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from privacy_service.policy.policies import Policies
from privacy_service.policy.processing import Contact, DataCategory, ProcessingRecord, Recipient
from privacy_service.policy.remedies import Remedies
from privacy_service.policy.transfers import TransferAssessment

UNDESCRIBED_SYSTEM_NOTE = (
    "This system holds your data but the shop's record of processing does not describe it, "
    "so its country, and whether your data leaves the EU/EEA there, is unknown."
)


def article15_information(
    policies: Policies, *, jurisdiction: str, country: str | None, systems: Mapping[str, Iterable[str]]
) -> dict[str, object]:
    """The Art. 15 document for a subject in ``country`` whose request was filed under ``jurisdiction``.

    ``jurisdiction`` is the code the request recorded; if the policies no
    longer declare it, the law of ``country`` today is used. ``systems`` maps
    each downstream system holding the subject's data to its categories.
    """
    law = policies.jurisdiction_coded(jurisdiction) or policies.jurisdiction_for(country)
    record = policies.processing
    held = {name: tuple(dict.fromkeys(categories)) for name, categories in systems.items()}
    remedies = policies.remedies_for(law)
    return {
        "controller": {
            "name": record.controller.name,
            "address": record.controller.address,
            "email": record.controller.email,
            "dpo": _contact(record.controller.dpo),
            "eu_representative": _contact(record.controller.eu_representative),
        },
        "jurisdiction": {"code": law.code, "name": law.name, "law": law.law},
        "purposes": [
            {
                "code": purpose.code,
                "description": purpose.description,
                "categories": list(purpose.categories),
                "data_subjects": list(purpose.data_subjects),
                "legal_basis": {
                    "code": str(purpose.legal_basis),
                    "provision": purpose.legal_basis.provision,
                    "text": purpose.legal_basis_text,
                },
            }
            for purpose in record.purposes
        ],
        "categories": _categories(policies, record, country=country, held=held),
        "recipients": _recipients(record, held=held),
        "automated_decisions": [
            {
                "code": decision.code,
                "logic": decision.logic,
                "significance": decision.significance,
                "consequences": decision.consequences,
                "categories": list(decision.categories),
            }
            for decision in record.automated_decisions
        ],
        "rights": [
            {"right": str(held_right.right), "name": held_right.name, "provision": held_right.provision}
            for held_right in (remedies.rights if remedies else ())
        ],
        "remedies": _remedies(remedies),
    }


def _categories(
    policies: Policies, record: ProcessingRecord, *, country: str | None, held: Mapping[str, tuple[str, ...]]
) -> list[dict[str, object]]:
    described = [category.code for category in record.categories]
    others = sorted({code for codes in held.values() for code in codes} - set(described))
    return [
        _category(policies, code, record.category(code), country=country, held=held)
        for code in (*described, *others)
    ]


def _category(
    policies: Policies,
    code: str,
    category: DataCategory | None,
    *,
    country: str | None,
    held: Mapping[str, tuple[str, ...]],
) -> dict[str, object]:
    obligations = [
        {
            "keep_for": rule.keep_for.describe(),
            "legal_basis": rule.legal_basis,
            "countries": sorted(rule.countries),
        }
        for rule in policies.retention_for(country=country, categories=[code])
    ]
    retention = category.retention if category else None
    return {
        "code": code,
        "described": category is not None,
        "description": category.description if category else None,
        "source": (
            {
                "from_subject": category.from_subject,
                "name": None if category.from_subject else category.source,
            }
            if category
            else None
        ),
        "provided_by_subject": category.provided_by_subject if category else None,
        "held_by": sorted(name for name, codes in held.items() if code in codes),
        "retention": {
            "period": retention.period.describe() if retention and retention.period else None,
            "criteria": retention.criteria if retention else None,
            "legal_obligations": obligations,
        },
    }


def _recipients(record: ProcessingRecord, *, held: Mapping[str, tuple[str, ...]]) -> list[dict[str, object]]:
    declared = [
        _recipient(record, recipient, held=held.get(recipient.name)) for recipient in record.recipients
    ]
    undeclared: list[dict[str, object]] = [
        {
            "name": name,
            "description": None,
            "role": None,
            "categories": list(held[name]),
            "holds_data": True,
            "country": None,
            "transfer": _transfer(record.transfers.assess(country=None, mechanisms=())),
            "note": UNDESCRIBED_SYSTEM_NOTE,
        }
        for name in sorted(held)
        if record.recipient(name) is None
    ]
    return [*declared, *undeclared]


def _recipient(
    record: ProcessingRecord, recipient: Recipient, *, held: tuple[str, ...] | None
) -> dict[str, object]:
    return {
        "name": recipient.name,
        "description": recipient.description,
        "role": str(recipient.role),
        "categories": list(dict.fromkeys((*recipient.categories, *(held or ())))),
        "holds_data": held is not None,
        "country": recipient.country,
        "transfer": _transfer(record.transfer_to(recipient)),
        "note": None,
    }


def _transfer(assessment: TransferAssessment) -> dict[str, object]:
    decision = assessment.adequacy
    return {
        "status": str(assessment.status),
        "third_country": assessment.third_country,
        "mechanisms": [str(mechanism) for mechanism in assessment.mechanisms],
        "adequacy_decision": f"{decision.decision} ({decision.name})" if decision else None,
    }


def _remedies(remedies: Remedies | None) -> dict[str, object] | None:
    if remedies is None:
        return None
    return {
        "jurisdiction": remedies.jurisdiction,
        "complaint": remedies.complaint,
        "courts": remedies.courts,
        "authorities": [
            {
                "name": authority.name,
                "address": authority.address,
                "url": authority.url,
                "role": authority.role,
            }
            for authority in remedies.authorities
        ],
    }


def _contact(contact: Contact | None) -> dict[str, str | None] | None:
    if contact is None:
        return None
    return {"name": contact.name, "address": contact.address, "email": contact.email}
