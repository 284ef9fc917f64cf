"""The shape of each file in ``policies/``, as pydantic models that refuse unknown keys.

These models only check what one value can tell (a period, a country code, a
URL); checks across entries (a code or country used twice) are the loader's,
where it can point at the line of the second use.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from privacy_service.policy.period import Period, TimeLimit, parse_time_limit
from privacy_service.policy.processing import LegalBasis, RecipientRole
from privacy_service.policy.remedies import Right
from privacy_service.policy.request_types import RequestType, SystemRequestType
from privacy_service.policy.systems import OWN_SYSTEM
from privacy_service.policy.transfers import TransferMechanism

_COUNTRY = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# The settings refuse unknown PRIVACY_ variables, so a secret kept under that prefix would stop start-up.
_SETTINGS_PREFIX = "PRIVACY_"


def _period(value: object) -> Period:
    if not isinstance(value, str):
        raise ValueError("must be a period such as '1 month', '15 days' or '10 years' (a string)")
    return Period.parse(value)


def _time_limit(value: object) -> TimeLimit:
    if not isinstance(value, str):
        raise ValueError("must be a period such as '1 month', '45 days' or '15 working days' (a string)")
    return parse_time_limit(value)


def _extension(value: object) -> Period:
    limit = _time_limit(value)
    if not isinstance(limit, Period):
        raise ValueError("must be a period on the calendar, such as '2 months' or '45 days'")
    return limit


def _acknowledgement(value: object) -> TimeLimit:
    if not isinstance(value, str):
        raise ValueError("must be a period such as 'at once', '10 business days' or '15 working days'")
    return parse_time_limit(value, at_once=True)


def _longer_than_zero(value: TimeLimit) -> TimeLimit:
    if value.is_zero:
        raise ValueError("must be longer than zero")
    return value


def _date(value: object) -> date:
    # Dates reach here as text (yaml_source reads no timestamps), so 2026-02-30 is refused with its line.
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD, such as 2026-12-25")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a date on the calendar") from None


def _country(value: object) -> str:
    if isinstance(value, bool):
        # YAML 1.1 reads an unquoted NO (Norway) as false.
        raise ValueError(
            'must be a quoted country code: unquoted NO, YES, ON or OFF is a YAML boolean, write "NO"'
        )
    if not isinstance(value, str):
        raise ValueError("must be an ISO 3166 country code such as DE or US-CA")
    code = value.strip().upper()
    if not _COUNTRY.fullmatch(code):
        raise ValueError("must be an ISO 3166 country code such as DE or US-CA")
    return code


PeriodText = Annotated[Period, BeforeValidator(_period)]
Deadline = Annotated[TimeLimit, BeforeValidator(_time_limit), AfterValidator(_longer_than_zero)]
Extension = Annotated[Period, BeforeValidator(_extension)]
Acknowledgement = Annotated[TimeLimit, BeforeValidator(_acknowledgement)]
CalendarDate = Annotated[date, BeforeValidator(_date)]
CountryCode = Annotated[str, BeforeValidator(_country)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Category = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class JurisdictionEntry(_Strict):
    code: Code
    name: Text
    law: Text
    countries: list[CountryCode] = Field(min_length=1)
    deadline: Deadline
    deadline_note: Text | None = None
    roll_to_working_day: StrictBool = False
    extension: Extension | None = None
    acknowledge_within: Acknowledgement | None = None
    approval: list[RequestType] = []
    supervisory_authority: Text | None = None


class DefaultJurisdictionEntry(_Strict):
    """The law assumed when a subject's country is unknown or has no entry of its own."""

    code: Code = "default"
    name: Text
    law: Text
    deadline: Deadline
    deadline_note: Text | None = None
    roll_to_working_day: StrictBool = False
    extension: Extension | None = None
    acknowledge_within: Acknowledgement | None = None
    approval: list[RequestType] = []
    supervisory_authority: Text | None = None


class JurisdictionsFile(_Strict):
    jurisdictions: list[JurisdictionEntry]
    default: DefaultJurisdictionEntry


HolidayNames = dict[CalendarDate, Text]


class HolidaysFile(_Strict):
    """Public holidays by country, and the weekend days a country declares working days (China)."""

    holidays: dict[CountryCode, HolidayNames]
    working_weekend_days: dict[CountryCode, HolidayNames] = {}


class RetentionEntry(_Strict):
    category: Category
    countries: list[CountryCode] = []
    keep_for: PeriodText
    legal_basis: Text


class RetentionFile(_Strict):
    retention: list[RetentionEntry]


class SystemEntry(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    url: str
    secret_env: str
    request_types: list[SystemRequestType] = Field(min_length=1)
    categories: list[Category] = []
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("name")
    @classmethod
    def _not_the_service(cls, value: str) -> str:
        if value == OWN_SYSTEM:
            raise ValueError(f"{OWN_SYSTEM} is the service's own name (its data in exports); choose another")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
            raise ValueError("must be an absolute http:// or https:// URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials; the secret comes from secret_env")
        return value

    @field_validator("secret_env")
    @classmethod
    def _environment_name(cls, value: str) -> str:
        if not _ENV_NAME.fullmatch(value):
            raise ValueError("must be the name of an environment variable (A-Z, 0-9, _), not a secret")
        if value.startswith(_SETTINGS_PREFIX):
            raise ValueError("must not start with PRIVACY_: that prefix is reserved for settings")
        return value


class SystemsFile(_Strict):
    systems: list[SystemEntry]


# audit/actions.py SHOP_ACTION_PATTERN and ACTION_LENGTH, which policy/ may not import (one layer);
# tests/unit/policy/test_policy_shop_actions.py holds the two to the same names.
_SHOP_ACTION = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_SHOP_ACTION_LENGTH = 100


def _shop_action(value: object) -> str:
    if not isinstance(value, str) or len(value) > _SHOP_ACTION_LENGTH or not _SHOP_ACTION.fullmatch(value):
        raise ValueError(
            "must be a shop action: dotted lower-case segments such as order.amount_change, "
            f"at most {_SHOP_ACTION_LENGTH} characters"
        )
    return value


ShopActionName = Annotated[str, BeforeValidator(_shop_action)]


class ShopActionsFile(_Strict):
    require_approval: list[ShopActionName] = []


# processing.yaml and remedies.yaml: the Art. 15 information and the record of processing (Art. 30).

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def _email(value: object) -> str:
    if not isinstance(value, str) or not _EMAIL.fullmatch(value.strip()):
        raise ValueError("must be an email address such as privacy@shop.example")
    return value.strip()


def _country_only(value: str) -> str:
    if "-" in value:
        raise ValueError("must be an ISO 3166-1 country code such as DE, not a subdivision")
    return value


def _web_address(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an absolute https:// or http:// URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("must be an absolute https:// or http:// URL")
    return value


Email = Annotated[str, BeforeValidator(_email)]
Country = Annotated[str, BeforeValidator(_country), AfterValidator(_country_only)]
WebAddress = Annotated[str, BeforeValidator(_web_address)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]


class ContactEntry(_Strict):
    name: Text | None = None
    address: Text | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactEntry:
        if self.address is None and self.email is None:
            raise ValueError("needs an address or an email, or both")
        return self


class ControllerEntry(_Strict):
    name: Text
    address: Text
    email: Email
    dpo: ContactEntry | None = None
    eu_representative: ContactEntry | None = None


class LegalBasisEntry(_Strict):
    code: LegalBasis
    text: LongText


class PurposeEntry(_Strict):
    code: Code
    description: LongText
    legal_basis: LegalBasisEntry
    categories: list[Category] = Field(min_length=1)
    data_subjects: list[Text] = Field(min_length=1)


class CategoryRetentionEntry(_Strict):
    """A category's own retention: a period, criteria, or both (Art. 15(1)(d): "or the criteria")."""

    period: PeriodText | None = None
    criteria: LongText | None = None

    @model_validator(mode="after")
    def _something(self) -> CategoryRetentionEntry:
        if self.period is None and self.criteria is None:
            raise ValueError("needs a period, criteria, or both")
        return self


class CategoryEntry(_Strict):
    code: Category
    description: LongText
    source: Text
    provided_by_subject: bool
    retention: CategoryRetentionEntry


class RecipientEntry(_Strict):
    name: Text
    description: LongText | None = None
    role: RecipientRole
    categories: list[Category] = Field(min_length=1)
    country: CountryCode
    transfer: list[TransferMechanism] = []
    purposes: list[Code] = []


class AutomatedDecisionEntry(_Strict):
    code: Code
    logic: LongText
    significance: LongText
    consequences: LongText
    categories: list[Category] = []


class AdequacyEntry(_Strict):
    country: Country
    name: Text
    decision: Text
    scope: Text | None = None


class TransfersEntry(_Strict):
    eea: list[Country] = Field(min_length=1)
    adequacy: list[AdequacyEntry] = []


class ProcessingFile(_Strict):
    controller: ControllerEntry
    purposes: list[PurposeEntry] = Field(min_length=1)
    categories: list[CategoryEntry] = Field(min_length=1)
    recipients: list[RecipientEntry]
    automated_decisions: list[AutomatedDecisionEntry]
    transfers: TransfersEntry
    security_measures: list[LongText] = []


class RightEntry(_Strict):
    right: Right
    name: Text
    provision: Text


class AuthorityEntry(_Strict):
    name: Text
    address: Text
    url: WebAddress
    role: Text | None = None


class RemediesEntry(_Strict):
    rights: list[RightEntry] = Field(min_length=1)
    authorities: list[AuthorityEntry] = Field(min_length=1)
    complaint: LongText
    courts: LongText


class RemediesFile(_Strict):
    """Rights and remedies keyed by jurisdiction code (the codes of jurisdictions.yaml, and ``default``)."""

    remedies: dict[Code, RemediesEntry]
