"""A jurisdiction's rights and remedies, from ``policies/remedies.yaml``.

What a data subject is told they can do under their law: the rights they
hold, named as that law names them (the CCPA's "right to know" is the GDPR's
right of access), the supervisory authorities they may complain to, and the
courts. The access answer (GDPR Art. 15(1)(e)-(f)) and a rejection notice
carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Right(StrEnum):
    """One right, by what it lets the subject do, so each law's own name for it can be shown and translated.

    Alphabetised; a law's list uses the codes that fit it (GDPR Arts. 7(3) and 15-22, LGPD
    Art. 18, PIPL Arts. 15, 24 and 44-48, Cal. Civ. Code §§1798.100-1798.125).
    """

    ACCESS = "access"
    ANONYMISATION = "anonymisation"  # LGPD Art. 18, IV: anonymisation, blocking or deletion of excess data
    AUTOMATED_DECISION = "automated_decision"  # not to be subject to, or to have reviewed
    CONFIRMATION = "confirmation"  # LGPD Art. 18, I: whether any data is processed at all
    CONSENT_REFUSAL_INFORMATION = "consent_refusal_information"  # LGPD Art. 18, VIII
    ERASURE = "erasure"
    EXPLANATION = "explanation"  # PIPL Art. 48: the handling rules explained
    KNOW_AND_DECIDE = "know_and_decide"  # PIPL Art. 44
    LIMIT_SENSITIVE = "limit_sensitive"  # CCPA §1798.121: limit the use of sensitive personal information
    NON_DISCRIMINATION = "non_discrimination"  # CCPA §1798.125
    NOTIFICATION = "notification"  # GDPR Art. 19: recipients told of a rectification, erasure, restriction
    OBJECTION = "objection"
    OPT_OUT = "opt_out"  # CCPA §1798.120: of the sale or sharing of personal information
    PORTABILITY = "portability"
    RECTIFICATION = "rectification"
    RESTRICTION = "restriction"
    SHARING_INFORMATION = "sharing_information"  # LGPD Art. 18, VII: with whom the data is shared
    WITHDRAW_CONSENT = "withdraw_consent"


@dataclass(frozen=True)
class RightHeld:
    """One right as one law grants it: ``name`` is the law's own, ``provision`` where it says so."""

    right: Right
    name: str
    provision: str


@dataclass(frozen=True)
class Authority:
    """A supervisory authority the subject may complain to; ``role`` says why it is competent."""

    name: str
    address: str
    url: str
    role: str | None = None


@dataclass(frozen=True)
class Remedies:
    jurisdiction: str
    rights: tuple[RightHeld, ...]
    authorities: tuple[Authority, ...]
    complaint: str
    courts: str
