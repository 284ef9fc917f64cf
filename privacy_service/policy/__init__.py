"""Policies as code: jurisdictions and their deadlines, public holidays, retention rules, downstream systems.

Loads and validates the top-level ``policies/`` directory and answers what the
law asks of a data subject request: which jurisdiction applies, when the
answer is due, whether an officer approves it first, which systems are asked
and what is kept back; and what the shop does with personal data (purposes,
categories, recipients and transfers, rights and remedies), for the access
answer (GDPR Art. 15) and the record of processing (Art. 30). Pure: no
database, no HTTP, no clock; time and the environment are passed in.
"""

from __future__ import annotations

from privacy_service.policy.article15 import article15_information
from privacy_service.policy.deadlines import ExtensionRefusal
from privacy_service.policy.errors import PolicyError, PolicyProblem
from privacy_service.policy.explanation import Explanation
from privacy_service.policy.holidays import HolidayCalendar
from privacy_service.policy.jurisdictions import Jurisdiction
from privacy_service.policy.loader import POLICY_FILES, load_policies
from privacy_service.policy.period import Period, TimeLimit, WorkingDays
from privacy_service.policy.policies import Policies
from privacy_service.policy.processing import LegalBasis, ProcessingRecord, RecipientRole
from privacy_service.policy.remedies import Remedies, Right
from privacy_service.policy.request_types import RequestType, SystemRequestType
from privacy_service.policy.retention import RetentionRule
from privacy_service.policy.systems import SystemSpec
from privacy_service.policy.transfers import TransferMechanism, TransferStatus

__all__ = [
    "POLICY_FILES",
    "Explanation",
    "ExtensionRefusal",
    "HolidayCalendar",
    "Jurisdiction",
    "LegalBasis",
    "Period",
    "Policies",
    "PolicyError",
    "PolicyProblem",
    "ProcessingRecord",
    "RecipientRole",
    "Remedies",
    "RequestType",
    "RetentionRule",
    "Right",
    "SystemRequestType",
    "SystemSpec",
    "TimeLimit",
    "TransferMechanism",
    "TransferStatus",
    "WorkingDays",
    "article15_information",
    "load_policies",
]
