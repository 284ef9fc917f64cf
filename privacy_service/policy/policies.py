"""The loaded policies, and the questions the rest of the service asks of them.

Built once at start-up by ``load_policies`` and shared read-only: every
answer here is a pure function of the files, so requests, the worker and the
CLI agree on deadlines and retention.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from privacy_service.policy import deadlines
from privacy_service.policy.deadlines import ExtensionRefusal
from privacy_service.policy.errors import PolicyProblem
from privacy_service.policy.explanation import Explanation
from privacy_service.policy.holidays import HolidayCalendar, HolidayCalendars
from privacy_service.policy.jurisdictions import Jurisdiction, normalise_country
from privacy_service.policy.processing import ProcessingRecord
from privacy_service.policy.remedies import Remedies
from privacy_service.policy.request_types import RequestType, SystemRequestType
from privacy_service.policy.retention import RetentionRule
from privacy_service.policy.systems import SystemSpec


@dataclass(frozen=True)
class Policies:
    jurisdictions: tuple[Jurisdiction, ...]
    default: Jurisdiction
    retention: tuple[RetentionRule, ...]
    systems: tuple[SystemSpec, ...]
    source: Path
    #: What the shop does with personal data (processing.yaml): the Art. 15 information, the Art. 30 record.
    processing: ProcessingRecord
    #: Rights and remedies by jurisdiction code (remedies.yaml, and remedies_optional.yaml where declared).
    remedies: Mapping[str, Remedies]
    #: Public holidays by country (holidays.yaml): which days are working days where a law counts them.
    holidays: HolidayCalendars = field(default_factory=HolidayCalendars)
    #: Shop actions (``order.amount_change``) an event may record only with an approval (shop_actions.yaml).
    shop_actions_requiring_approval: frozenset[str] = frozenset()
    #: Gaps the service can run with but the shop should close; ``policies check`` prints them.
    warnings: tuple[PolicyProblem, ...] = ()
    #: Codes in remedies_optional.yaml that name no declared jurisdiction, so are not used.
    unused_remedies: tuple[str, ...] = ()
    _by_country: dict[str, Jurisdiction] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The loader refuses a country listed twice, so this index is unambiguous.
        by_country = {country: item for item in self.jurisdictions for country in item.countries}
        object.__setattr__(self, "_by_country", by_country)

    def jurisdiction_for(self, country: str | None) -> Jurisdiction:
        """The law of a subject living in ``country`` (ISO 3166-1 "DE" or ISO 3166-2 "US-CA").

        A subdivision is looked up first, then its country ("US-CA", then "US"),
        so California can have its own law while the rest of the country falls
        back; an unknown or missing country gets the default.
        """
        if country is None or not country.strip():
            return self.default
        code = normalise_country(country)
        found = self._by_country.get(code) or self._by_country.get(code.partition("-")[0])
        return found or self.default

    def holidays_for(self, country: str | None) -> HolidayCalendar:
        """The working calendar of a subject in ``country``: its own list, its country's, or weekends only."""
        return self.holidays.for_country(country)

    def due_at(self, *, received_at: datetime, jurisdiction: Jurisdiction, country: str | None) -> datetime:
        """When the answer to a request received at ``received_at`` is due, before any extension.

        ``country`` is the subject's (ISO 3166, "DE" or "US-CA"): its public
        holidays decide the working days, where the law counts them.
        """
        return deadlines.due_at(
            jurisdiction=jurisdiction, received_at=received_at, calendar=self.holidays_for(country)
        )

    def extended_due_at(
        self, *, first_due_at: datetime, jurisdiction: Jurisdiction, country: str | None
    ) -> datetime | None:
        """When the answer is due once extended, counted from ``first_due_at`` (the request's ``due_at``).

        None where the law has no extension. Ask ``extension_refusal`` first:
        this answers the date, not whether the extension may be taken now.
        """
        return deadlines.extended_due_at(
            jurisdiction=jurisdiction, first_due_at=first_due_at, calendar=self.holidays_for(country)
        )

    def extension_refusal(
        self, *, first_due_at: datetime, jurisdiction: Jurisdiction, extended: bool, now: datetime
    ) -> ExtensionRefusal | None:
        """Why a request first due at ``first_due_at`` cannot be extended at ``now``; None when it can.

        Once only, before the first period has ended, and only where the law has
        an extension; ``ExtensionRefusal.detail`` says why in a sentence.
        """
        return deadlines.extension_refusal(
            jurisdiction=jurisdiction, first_due_at=first_due_at, extended=extended, now=now
        )

    def acknowledge_by(
        self, *, received_at: datetime, jurisdiction: Jurisdiction, country: str | None
    ) -> datetime | None:
        """When the request must have been acknowledged; None where the law sets no time for it."""
        return deadlines.acknowledge_by(
            jurisdiction=jurisdiction, received_at=received_at, calendar=self.holidays_for(country)
        )

    def needs_approval(self, *, jurisdiction: Jurisdiction, request_type: RequestType) -> bool:
        """Whether a compliance officer must approve this kind of request before it is carried out."""
        return request_type in jurisdiction.approval

    def retention_for(
        self, *, country: str | None, categories: Iterable[str] | None = None
    ) -> list[RetentionRule]:
        """The rules that keep data of a subject in ``country`` back, optionally only for ``categories``.

        In file order; several rules may name one category (a country's own and a general one).
        """
        wanted = None if categories is None else frozenset(categories)
        return [
            rule
            for rule in self.retention
            if rule.applies_to(country) and (wanted is None or rule.category in wanted)
        ]

    def systems_for(self, request_type: SystemRequestType) -> list[SystemSpec]:
        """The declared systems that receive ``request_type``, in file order."""
        return [system for system in self.systems if request_type in system.request_types]

    def explain(
        self, *, country: str, request_type: RequestType, received_at: datetime | None = None
    ) -> Explanation:
        """What would happen to a ``request_type`` request from ``country`` received at ``received_at``.

        ``received_at`` is passed in (the CLI gives the wall clock) so the due date
        can be shown without this package reading the time.
        """
        if received_at is not None and received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        jurisdiction = self.jurisdiction_for(country)
        return Explanation(
            country=normalise_country(country),
            request_type=request_type,
            jurisdiction=jurisdiction,
            needs_approval=self.needs_approval(jurisdiction=jurisdiction, request_type=request_type),
            systems=tuple(system.name for system in self.systems_for(SystemRequestType(request_type))),
            notice_systems=tuple(system.name for system in self.systems_for(SystemRequestType.NOTICE)),
            retention=tuple(self.retention_for(country=country)),
            holidays=self.holidays_for(country),
            received_at=received_at,
        )

    def jurisdiction_coded(self, code: str) -> Jurisdiction | None:
        """The jurisdiction a request recorded by its code, if the policies still declare it."""
        return next((item for item in (*self.jurisdictions, self.default) if item.code == code), None)

    def remedies_for(self, jurisdiction: Jurisdiction) -> Remedies | None:
        """The rights and remedies a subject under ``jurisdiction`` is told: its own, else the default's.

        The loader warns about a jurisdiction without remedies; None only when the default has none either.
        """
        return self.remedies.get(jurisdiction.code) or self.remedies.get(self.default.code)
