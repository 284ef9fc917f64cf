"""The record of processing activities (GDPR Art. 30(1)), drawn from the policies, as Markdown or CSV.

One activity per purpose of ``processing.yaml``: its legal basis, the
categories of data subjects and of data, the recipients with their country and
transfer safeguard, and the retention of each category (the category's own,
and the legal obligations of ``retention.yaml`` to keep it longer). The
general description of the security measures (Art. 30(1)(g)) is the
service's own, which hold wherever it runs, followed by those the shop lists.

The CSV has one row per purpose and the columns of ``CSV_COLUMNS``, in that
order, whatever the policies hold. Several codes or names in one cell are
separated by "; "; several sentences (retention per category, transfers,
security measures) stand one per line within the cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from privacy_service.policy.policies import Policies
from privacy_service.policy.processing import Contact, Purpose, Recipient
from privacy_service.policy.transfers import TransferAssessment, TransferStatus

#: What privacy-service itself guarantees for the data it holds and the calls it makes (DESIGN.md).
SERVICE_SECURITY_MEASURES = (
    "Personal data held by privacy-service is encrypted field by field with AES-256-GCM under a data key "
    "of its own for each data subject, bound to its table, column and subject; the data keys are wrapped "
    "by a key-encryption key kept outside the database, so erasing a subject's key makes every copy of "
    "their data unreadable, backups included.",
    "Look-ups by email use a keyed blind index (HMAC-SHA256), never the plaintext.",
    "Passwords are hashed with argon2id at no less than OWASP's minimum (19 MiB, 2 iterations) and the "
    "hashes encrypted under a pepper key kept outside the database; staff sign in with a second factor "
    "(TOTP).",
    "Every sensitive operation is recorded in an audit trail in the same transaction; the events are "
    "chained by SHA-256 hashes and sealed by Ed25519-signed checkpoints, so a changed, removed or "
    "inserted event is detected.",
    "Data travels over TLS (HTTPS, with HSTS when served over TLS); downstream systems are called with "
    "signed webhooks (Standard Webhooks, HMAC-SHA256) and their answers verified the same way.",
)

CSV_COLUMNS = (
    "purpose",
    "description",
    "legal_basis",
    "legal_basis_provision",
    "legal_basis_text",
    "data_subjects",
    "data_categories",
    "recipients",
    "third_country_transfers",
    "retention",
    "controller",
    "controller_contact",
    "dpo",
    "eu_representative",
    "security_measures",
)

_NOT_DESCRIBED = "Not described in processing.yaml."


def ropa_markdown(policies: Policies) -> str:
    """The record as a Markdown document."""
    record = policies.processing
    controller = record.controller
    lines = [
        "# Record of processing activities",
        "",
        "GDPR Art. 30(1), drawn from the policies (processing.yaml, retention.yaml). The purposes, "
        "legal bases, retention periods and recipients are the shop's own legal choices; shipped "
        "defaults are examples to review, not legal advice.",
        "",
        "## Controller",
        "",
        "| | |",
        "|---|---|",
        f"| Name | {_cell(controller.name)} |",
        f"| Address | {_cell(controller.address)} |",
        f"| Contact | {_cell(controller.email)} |",
        f"| Data protection officer | {_cell(_contact(controller.dpo))} |",
        f"| Representative in the EU | {_cell(_contact(controller.eu_representative))} |",
        "",
        "## Processing activities",
    ]
    for purpose in record.purposes:
        recipients = record.recipients_of(purpose)
        lines += [
            "",
            f"### {purpose.code}",
            "",
            _cell(purpose.description),
            "",
            f"- Legal basis: {_legal_basis(purpose)}",
            f"- Categories of data subjects: {', '.join(purpose.data_subjects)}",
            f"- Categories of personal data: {', '.join(purpose.categories)}",
            f"- Recipients: {_joined(_recipient(recipient) for recipient in recipients) or 'none'}",
            f"- Transfers to third countries: {_joined(_transfers(policies, recipients)) or 'none'}",
            "- Retention:",
            *(f"  - {code}: {_retention(policies, code)}" for code in purpose.categories),
        ]
    lines += [
        "",
        "## Categories of personal data",
        "",
        "| Category | Description | Source | Retention |",
        "|---|---|---|---|",
    ]
    for category in record.categories:
        source = "the data subject" if category.from_subject else category.source
        lines.append(
            f"| {category.code} | {_cell(category.description)} | {_cell(source)} "
            f"| {_cell(_retention(policies, category.code))} |"
        )
    lines += [
        "",
        "## Recipients",
        "",
        "| Recipient | Role | Country | Categories | Transfer |",
        "|---|---|---|---|---|",
    ]
    for recipient in record.recipients:
        name = f"{recipient.name}: {recipient.description}" if recipient.description else recipient.name
        lines.append(
            f"| {_cell(name)} | {recipient.role} | {recipient.country} | {', '.join(recipient.categories)} "
            f"| {_cell(_transfer(record.transfer_to(recipient)))} |"
        )
    if not record.recipients:
        lines.append("| none | | | | |")
    lines += ["", "## Automated decisions (GDPR Art. 22)", ""]
    if not record.automated_decisions:
        lines.append("None.")
    for decision in record.automated_decisions:
        lines += [
            f"- {decision.code}: {_cell(decision.logic)} Significance: {_cell(decision.significance)} "
            f"Consequences: {_cell(decision.consequences)}"
        ]
    lines += [
        "",
        "## Technical and organisational security measures (GDPR Art. 32)",
        "",
        "By privacy-service:",
        "",
        *(f"- {measure}" for measure in SERVICE_SECURITY_MEASURES),
    ]
    if record.security_measures:
        lines += ["", "By the shop:", "", *(f"- {_cell(measure)}" for measure in record.security_measures)]
    return "\n".join(lines) + "\n"


def ropa_csv(policies: Policies) -> str:
    """The record as CSV: a header of ``CSV_COLUMNS``, then one row per purpose."""
    record = policies.processing
    controller = record.controller
    measures = "\n".join((*SERVICE_SECURITY_MEASURES, *record.security_measures))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for purpose in record.purposes:
        recipients = record.recipients_of(purpose)
        row = {
            "purpose": purpose.code,
            "description": purpose.description,
            "legal_basis": str(purpose.legal_basis),
            "legal_basis_provision": purpose.legal_basis.provision,
            "legal_basis_text": purpose.legal_basis_text,
            "data_subjects": _joined(purpose.data_subjects),
            "data_categories": _joined(purpose.categories),
            "recipients": _joined(_recipient(recipient) for recipient in recipients),
            "third_country_transfers": "\n".join(_transfers(policies, recipients)),
            "retention": "\n".join(f"{code}: {_retention(policies, code)}" for code in purpose.categories),
            "controller": f"{controller.name}, {controller.address}",
            "controller_contact": controller.email,
            "dpo": _contact(controller.dpo),
            "eu_representative": _contact(controller.eu_representative),
            "security_measures": measures,
        }
        writer.writerow([row[column] for column in CSV_COLUMNS])
    return buffer.getvalue()


def _legal_basis(purpose: Purpose) -> str:
    return f"{purpose.legal_basis.provision} ({purpose.legal_basis}): {_cell(purpose.legal_basis_text)}"


def _recipient(recipient: Recipient) -> str:
    return f"{recipient.name} ({recipient.role}, {recipient.country})"


def _transfers(policies: Policies, recipients: Iterable[Recipient]) -> list[str]:
    """The recipients outside the EU/EEA, each with the ground of its transfer."""
    record = policies.processing
    return [
        f"{recipient.name} ({recipient.country}): {_transfer(assessment)}"
        for recipient in recipients
        if (assessment := record.transfer_to(recipient)).third_country
    ]


def _transfer(assessment: TransferAssessment) -> str:
    if assessment.status is TransferStatus.WITHIN_EEA:
        return "none needed (within the EU/EEA)"
    if assessment.status is TransferStatus.ADEQUACY and assessment.adequacy is not None:
        return f"adequacy decision: {assessment.adequacy.decision}"
    if assessment.status is TransferStatus.NO_SAFEGUARD:
        return "NO SAFEGUARD DECLARED (see `privacy-service policies check`)"
    return ", ".join(mechanism.label for mechanism in assessment.mechanisms)


def _retention(policies: Policies, code: str) -> str:
    """The category's own retention, then each legal obligation to keep it, by country."""
    category = policies.processing.category(code)
    own = category.retention.describe() if category else _NOT_DESCRIBED
    obligations = [
        f"{', '.join(sorted(rule.countries)) or 'everywhere'}: "
        f"{rule.keep_for.describe()} under {rule.legal_basis}"
        for rule in policies.retention
        if rule.category == code
    ]
    if not obligations:
        return own
    return f"{own} Kept longer where the law requires it: {'; '.join(obligations)}."


def _contact(contact: Contact | None) -> str:
    if contact is None:
        return "none designated"
    return ", ".join(part for part in (contact.name, contact.address, contact.email) if part)


def _joined(values: Iterable[str]) -> str:
    return "; ".join(values)


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell or list item."""
    return " ".join(text.split()).replace("|", "\\|")
