"""``remedies.yaml`` (and the optional ``remedies_optional.yaml``) read and checked against the jurisdictions.

``remedies.yaml`` is strict: every code it lists must be a jurisdiction of
``jurisdictions.yaml`` (or ``default``), so a typo is an error at its line.
``remedies_optional.yaml`` holds remedies prepared for jurisdictions a shop
may declare or not (the shipped one: China's PIPL); an entry is used once its
jurisdiction is declared, and otherwise listed by ``policies check`` as
unused. A jurisdiction with no entry in either is a warning: its subjects are
told the default's rights and remedies.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from privacy_service.policy.findings import Findings
from privacy_service.policy.remedies import Authority, Remedies, RightHeld
from privacy_service.policy.schemas import RemediesEntry, RemediesFile


def build_remedies(
    file: Findings, validated: RemediesFile, *, jurisdictions: Collection[str]
) -> dict[str, Remedies] | None:
    """The remedies by jurisdiction code, or None after reporting each unknown code or repeated right."""
    failed = False
    for code in validated.remedies:
        if code not in jurisdictions:
            file.report(("remedies", code), f"no jurisdiction {code} in jurisdictions.yaml")
            failed = True
    failed = _repeated_rights(file, validated) or failed
    return None if failed else {code: _remedies(code, entry) for code, entry in validated.remedies.items()}


def build_optional_remedies(
    file: Findings,
    validated: RemediesFile,
    *,
    jurisdictions: Collection[str],
    declared: Mapping[str, Remedies],
) -> tuple[dict[str, Remedies], tuple[str, ...]] | None:
    """The optional entries whose jurisdiction exists, and the codes of those that do not (unused).

    A code already in ``remedies.yaml`` is an error: which of the two would apply?
    """
    failed = False
    for code in validated.remedies:
        if code in declared:
            file.report(("remedies", code), f"{code} already has remedies in remedies.yaml")
            failed = True
    failed = _repeated_rights(file, validated) or failed
    if failed:
        return None
    used = {
        code: _remedies(code, entry) for code, entry in validated.remedies.items() if code in jurisdictions
    }
    unused = tuple(code for code in validated.remedies if code not in jurisdictions)
    return used, unused


def warn_missing(
    file: Findings, remedies: Mapping[str, Remedies], *, jurisdictions: Collection[str], default: str
) -> None:
    """Warn, at the top of ``remedies.yaml``, for each jurisdiction without remedies."""
    for code in jurisdictions:
        if code in remedies:
            continue
        consequence = (
            "subjects of no listed jurisdiction are told of none"
            if code == default
            else "its subjects are told the default's"
        )
        file.warn(("remedies",), f"jurisdiction {code} has no rights and remedies here; {consequence}")


def _repeated_rights(file: Findings, validated: RemediesFile) -> bool:
    failed = False
    for code, entry in validated.remedies.items():
        seen: dict[str, int] = {}
        for index, held in enumerate(entry.rights):
            if held.right in seen:
                file.report(
                    ("remedies", code, "rights", index, "right"),
                    f"{held.right} is already listed at rights[{seen[held.right]}]",
                )
                failed = True
            seen.setdefault(held.right, index)
    return failed


def _remedies(code: str, entry: RemediesEntry) -> Remedies:
    return Remedies(
        jurisdiction=code,
        rights=tuple(
            RightHeld(right=item.right, name=item.name, provision=item.provision) for item in entry.rights
        ),
        authorities=tuple(
            Authority(name=item.name, address=item.address, url=item.url, role=item.role)
            for item in entry.authorities
        ),
        complaint=entry.complaint,
        courts=entry.courts,
    )
