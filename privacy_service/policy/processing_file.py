"""``processing.yaml`` read into a ProcessingRecord, checked across its entries and against the other files.

Errors make a lookup ambiguous or a reference dangle (a purpose code used
twice, a recipient serving a purpose nobody declared). Warnings are gaps in
what the shop tells its customers, which the service can still run with: a
recipient outside the EU/EEA without a transfer safeguard, a data category
used somewhere but described nowhere (so no access answer can say what it is,
where it comes from or how long it is kept), a category no purpose uses.
"""

from __future__ import annotations

from collections.abc import Iterable

from privacy_service.policy.findings import Findings
from privacy_service.policy.processing import (
    AutomatedDecision,
    Contact,
    Controller,
    DataCategory,
    ProcessingRecord,
    Purpose,
    Recipient,
    Retention,
)
from privacy_service.policy.schemas import ContactEntry, ProcessingFile, RetentionFile, SystemsFile
from privacy_service.policy.transfers import AdequacyDecision, TransferRules
from privacy_service.policy.yaml_source import Location


def build_processing(file: Findings, validated: ProcessingFile) -> ProcessingRecord | None:
    """The record, or None after reporting each entry that repeats or refers to nothing."""
    errors = [
        *_repeats("purpose", ((("purposes", i, "code"), p.code) for i, p in enumerate(validated.purposes))),
        *_repeats(
            "category", ((("categories", i, "code"), c.code) for i, c in enumerate(validated.categories))
        ),
        *_repeats(
            "recipient", ((("recipients", i, "name"), r.name) for i, r in enumerate(validated.recipients))
        ),
        *_repeats(
            "automated decision",
            (
                (("automated_decisions", i, "code"), d.code)
                for i, d in enumerate(validated.automated_decisions)
            ),
        ),
        *_repeats(
            "country",
            ((("transfers", "eea", i), country) for i, country in enumerate(validated.transfers.eea)),
        ),
        *_repeats(
            "country",
            (
                (("transfers", "adequacy", i, "country"), a.country)
                for i, a in enumerate(validated.transfers.adequacy)
            ),
        ),
    ]
    eea = frozenset(validated.transfers.eea)
    for index, decision in enumerate(validated.transfers.adequacy):
        if decision.country in eea:
            errors.append(
                (
                    ("transfers", "adequacy", index, "country"),
                    f"{decision.country} is in the EEA: no adequacy needed",
                )
            )
    purposes = {purpose.code for purpose in validated.purposes}
    for index, recipient in enumerate(validated.recipients):
        for position, code in enumerate(recipient.purposes):
            if code not in purposes:
                errors.append(
                    (("recipients", index, "purposes", position), f"no purpose {code} in `purposes`")
                )
    for location, message in errors:
        file.report(location, message)
    if errors:
        return None
    record = _record(validated)
    _warn_gaps(file, record)
    return record


def warn_undescribed(file: Findings, record: ProcessingRecord, uses: Iterable[tuple[Location, str]]) -> None:
    """Warn at each use of a data category that ``processing.yaml`` does not describe."""
    for location, code in uses:
        if record.category(code) is None:
            file.warn(location, f"category {code} is not described in processing.yaml `categories`")


def category_uses_in_systems(validated: SystemsFile) -> list[tuple[Location, str]]:
    return [
        (("systems", index, "categories", position), code)
        for index, system in enumerate(validated.systems)
        for position, code in enumerate(system.categories)
    ]


def category_uses_in_retention(validated: RetentionFile) -> list[tuple[Location, str]]:
    return [
        (("retention", index, "category"), rule.category) for index, rule in enumerate(validated.retention)
    ]


def _warn_gaps(file: Findings, record: ProcessingRecord) -> None:
    uses: list[tuple[Location, str]] = []
    for index, purpose in enumerate(record.purposes):
        uses += [
            (("purposes", index, "categories", position), code)
            for position, code in enumerate(purpose.categories)
        ]
    for index, recipient in enumerate(record.recipients):
        uses += [
            (("recipients", index, "categories", position), code)
            for position, code in enumerate(recipient.categories)
        ]
    for index, decision in enumerate(record.automated_decisions):
        uses += [
            (("automated_decisions", index, "categories", position), code)
            for position, code in enumerate(decision.categories)
        ]
    warn_undescribed(file, record, uses)
    purposed = {code for purpose in record.purposes for code in purpose.categories}
    for index, category in enumerate(record.categories):
        if category.code not in purposed:
            file.warn(
                ("categories", index, "code"),
                f"category {category.code} is used by no purpose (GDPR Art. 5(1)(b): each has a purpose)",
            )
    for index, recipient in enumerate(record.recipients):
        problem = record.transfer_to(recipient).problem
        if problem is not None:
            file.warn(
                ("recipients", index, "transfer"),
                f"recipient {recipient.name} in {recipient.country} has no transfer safeguard: {problem}",
            )


def _record(validated: ProcessingFile) -> ProcessingRecord:
    controller = validated.controller
    return ProcessingRecord(
        controller=Controller(
            name=controller.name,
            address=controller.address,
            email=controller.email,
            dpo=_contact(controller.dpo),
            eu_representative=_contact(controller.eu_representative),
        ),
        purposes=tuple(
            Purpose(
                code=entry.code,
                description=entry.description,
                legal_basis=entry.legal_basis.code,
                legal_basis_text=entry.legal_basis.text,
                categories=tuple(entry.categories),
                data_subjects=tuple(entry.data_subjects),
            )
            for entry in validated.purposes
        ),
        categories=tuple(
            DataCategory(
                code=entry.code,
                description=entry.description,
                source=entry.source,
                provided_by_subject=entry.provided_by_subject,
                retention=Retention(period=entry.retention.period, criteria=entry.retention.criteria),
            )
            for entry in validated.categories
        ),
        recipients=tuple(
            Recipient(
                name=entry.name,
                description=entry.description,
                role=entry.role,
                categories=tuple(entry.categories),
                country=entry.country,
                mechanisms=tuple(entry.transfer),
                purposes=tuple(entry.purposes),
            )
            for entry in validated.recipients
        ),
        automated_decisions=tuple(
            AutomatedDecision(
                code=entry.code,
                logic=entry.logic,
                significance=entry.significance,
                consequences=entry.consequences,
                categories=tuple(entry.categories),
            )
            for entry in validated.automated_decisions
        ),
        transfers=TransferRules(
            eea=frozenset(validated.transfers.eea),
            adequacy={
                entry.country: AdequacyDecision(
                    country=entry.country, name=entry.name, decision=entry.decision, scope=entry.scope
                )
                for entry in validated.transfers.adequacy
            },
        ),
        security_measures=tuple(validated.security_measures),
    )


def _contact(entry: ContactEntry | None) -> Contact | None:
    if entry is None:
        return None
    return Contact(name=entry.name, address=entry.address, email=entry.email)


def _repeats(what: str, entries: Iterable[tuple[Location, str]]) -> list[tuple[Location, str]]:
    """Each entry whose key an earlier entry already has, with where the first one is."""
    first: dict[str, Location] = {}
    found: list[tuple[Location, str]] = []
    for location, key in entries:
        if key in first:
            found.append((location, f"{what} {key} already declared at {_entry(first[key])}"))
        first.setdefault(key, location)
    return found


def _entry(location: Location) -> str:
    """The entry a key's location belongs to: ("purposes", 0, "code") is "purposes[0]"."""
    text = ""
    for step in location:
        if isinstance(step, int):
            text += f"[{step}]"
            return text
        text += f".{step}" if text else step
    return text
