"""Read ``policies/`` and refuse it, with every problem by file and line, unless all of it is valid.

All files are checked before failing, so one run of ``privacy-service policies
check`` shows everything to fix. Secrets are read from the environment named
in ``systems.yaml``; a problem with one names the variable, never its value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from privacy_service.policy.errors import PolicyError, PolicyProblem
from privacy_service.policy.holidays import HolidayCalendar, HolidayCalendars
from privacy_service.policy.jurisdictions import Jurisdiction, normalise_country
from privacy_service.policy.policies import Policies
from privacy_service.policy.processing import ProcessingRecord
from privacy_service.policy.processing_file import (
    build_processing,
    category_uses_in_retention,
    category_uses_in_systems,
    warn_undescribed,
)
from privacy_service.policy.remedies import Remedies
from privacy_service.policy.remedies_file import build_optional_remedies, build_remedies, warn_missing
from privacy_service.policy.retention import RetentionRule
from privacy_service.policy.schemas import (
    DefaultJurisdictionEntry,
    HolidaysFile,
    JurisdictionEntry,
    JurisdictionsFile,
    ProcessingFile,
    RemediesFile,
    RetentionFile,
    ShopActionsFile,
    SystemsFile,
)
from privacy_service.policy.systems import SystemSpec
from privacy_service.policy.yaml_source import Location, YamlSource, YamlSyntaxError

JURISDICTIONS_FILE = "jurisdictions.yaml"
HOLIDAYS_FILE = "holidays.yaml"
RETENTION_FILE = "retention.yaml"
SYSTEMS_FILE = "systems.yaml"
SHOP_ACTIONS_FILE = "shop_actions.yaml"  # optional: without it no shop action needs an approval
PROCESSING_FILE = "processing.yaml"
REMEDIES_FILE = "remedies.yaml"
OPTIONAL_REMEDIES_FILE = "remedies_optional.yaml"  # optional: used for the jurisdictions that are declared
POLICY_FILES = (
    JURISDICTIONS_FILE,
    HOLIDAYS_FILE,
    RETENTION_FILE,
    SYSTEMS_FILE,
    SHOP_ACTIONS_FILE,
    PROCESSING_FILE,
    REMEDIES_FILE,
    OPTIONAL_REMEDIES_FILE,
)

#: Pydantic's last step in the location of a bad mapping key: the key's own line is the one to show.
_KEY_STEP = "[key]"
_SATURDAY = 5

# Standard Webhooks: a secret is "whsec_" and base64 of 24 to 64 random bytes.
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_SECRET_BYTES = range(24, 65)

_Model = TypeVar("_Model", bound=BaseModel)


@dataclass
class _File:
    """One policy file being checked: where it is, its YAML, and the problems found so far."""

    path: Path
    source: YamlSource | None = None
    problems: list[PolicyProblem] = field(default_factory=list)
    warnings: list[PolicyProblem] = field(default_factory=list)

    def report(self, location: Location, message: str) -> None:
        self.problems.append(self._located(location, message))

    def warn(self, location: Location, message: str) -> None:
        self.warnings.append(self._located(location, message))

    def _located(self, location: Location, message: str) -> PolicyProblem:
        location = [step for step in location if step != _KEY_STEP]
        line = self.source.line_of(location) if self.source else None
        return PolicyProblem(file=self.path, line=line, message=f"{_dotted(location)}{message}")


def load_policies(directory: Path, *, environ: Mapping[str, str]) -> Policies:
    """The policies in ``directory``, with the secrets of declared systems read from ``environ``.

    Raises PolicyError listing every problem of every file.
    """
    if not directory.is_dir():
        raise PolicyError([PolicyProblem(file=directory, line=None, message="no such policies directory")])
    problems = [
        PolicyProblem(
            file=path, line=None, message=f"unknown policy file; expected {', '.join(POLICY_FILES)}"
        )
        for path in sorted(directory.iterdir())
        if path.suffix in (".yaml", ".yml") and path.name not in POLICY_FILES
    ]
    jurisdictions_file = _File(directory / JURISDICTIONS_FILE)
    holidays_file = _File(directory / HOLIDAYS_FILE)
    retention_file = _File(directory / RETENTION_FILE)
    systems_file = _File(directory / SYSTEMS_FILE)
    shop_actions_file = _File(directory / SHOP_ACTIONS_FILE)

    jurisdictions = _validated(jurisdictions_file, JurisdictionsFile)
    holidays = _validated(holidays_file, HolidaysFile)
    retention = _validated(retention_file, RetentionFile)
    systems = _validated(systems_file, SystemsFile)
    shop_actions = (
        _validated(shop_actions_file, ShopActionsFile)
        if shop_actions_file.path.exists()
        else ShopActionsFile()
    )
    approval_required = _approval_required(shop_actions_file, shop_actions) if shop_actions else None
    built_jurisdictions = _jurisdictions(jurisdictions_file, jurisdictions) if jurisdictions else None
    built_holidays = _holidays(holidays_file, holidays) if holidays else None
    built_systems = _systems(systems_file, systems, environ) if systems else None
    information = _information(
        directory,
        jurisdictions=built_jurisdictions,
        retention=(retention_file, retention),
        systems=(systems_file, systems),
    )

    files = (
        jurisdictions_file,
        holidays_file,
        retention_file,
        systems_file,
        shop_actions_file,
        *information.files,
    )
    for file in files:
        problems.extend(file.problems)
    if (
        problems
        or built_jurisdictions is None
        or built_holidays is None
        or retention is None
        or built_systems is None
        or approval_required is None
        or information.processing is None
        or information.remedies is None
    ):
        raise PolicyError(problems)
    listed, default = built_jurisdictions
    return Policies(
        jurisdictions=listed,
        default=default,
        holidays=built_holidays,
        retention=tuple(
            RetentionRule(
                category=rule.category,
                countries=frozenset(rule.countries),
                keep_for=rule.keep_for,
                legal_basis=rule.legal_basis,
            )
            for rule in retention.retention
        ),
        systems=built_systems,
        source=directory,
        processing=information.processing,
        remedies=MappingProxyType(information.remedies),
        shop_actions_requiring_approval=approval_required,
        warnings=tuple(warning for file in files for warning in file.warnings),
        unused_remedies=information.unused_remedies,
    )


def _approval_required(file: _File, validated: ShopActionsFile) -> frozenset[str] | None:
    """The shop actions that need an approval, refusing one listed twice (a sign of a typo nearby)."""
    seen: dict[str, int] = {}
    for index, action in enumerate(validated.require_approval):
        if action in seen:
            file.report(("require_approval", index), f"{action} is already listed at [{seen[action]}]")
        seen.setdefault(action, index)
    return None if file.problems else frozenset(seen)


@dataclass
class _Information:
    """processing.yaml and the remedies: what the access answer and the Art. 30 record are drawn from."""

    files: tuple[_File, ...]
    processing: ProcessingRecord | None
    remedies: dict[str, Remedies] | None
    unused_remedies: tuple[str, ...] = ()


def _information(
    directory: Path,
    *,
    jurisdictions: tuple[tuple[Jurisdiction, ...], Jurisdiction] | None,
    retention: tuple[_File, RetentionFile | None],
    systems: tuple[_File, SystemsFile | None],
) -> _Information:
    """Read processing.yaml and the remedies, checked against the jurisdictions and the categories used."""
    processing_file = _File(directory / PROCESSING_FILE)
    remedies_file = _File(directory / REMEDIES_FILE)
    optional_file = _File(directory / OPTIONAL_REMEDIES_FILE)
    files = (processing_file, remedies_file, optional_file)
    processing = _validated(processing_file, ProcessingFile)
    record = build_processing(processing_file, processing) if processing is not None else None
    (retention_file, retention_rules), (systems_file, declared_systems) = retention, systems
    if record is not None and retention_rules is not None:
        warn_undescribed(retention_file, record, category_uses_in_retention(retention_rules))
    if record is not None and declared_systems is not None:
        warn_undescribed(systems_file, record, category_uses_in_systems(declared_systems))
    remedies = _validated(remedies_file, RemediesFile)
    optional = (
        _validated(optional_file, RemediesFile) if optional_file.path.exists() else RemediesFile(remedies={})
    )
    if jurisdictions is None or remedies is None or optional is None:
        return _Information(files=files, processing=record, remedies=None)
    listed, default = jurisdictions
    codes = [*(jurisdiction.code for jurisdiction in listed), default.code]
    built = build_remedies(remedies_file, remedies, jurisdictions=codes)
    extra = build_optional_remedies(optional_file, optional, jurisdictions=codes, declared=built or {})
    if built is None or extra is None:
        return _Information(files=files, processing=record, remedies=None)
    used, unused = extra
    built.update(used)
    warn_missing(remedies_file, built, jurisdictions=codes, default=default.code)
    return _Information(files=files, processing=record, remedies=built, unused_remedies=unused)


def _validated(file: _File, model: type[_Model]) -> _Model | None:
    """The file parsed and checked against ``model``; None (with problems recorded) when it is not valid."""
    try:
        text = file.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        file.problems.append(PolicyProblem(file=file.path, line=None, message="file missing"))
        return None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        file.problems.append(PolicyProblem(file=file.path, line=None, message=f"cannot read: {reason}"))
        return None
    try:
        file.source = YamlSource.parse(text)
    except YamlSyntaxError as error:
        file.problems.append(PolicyProblem(file=file.path, line=error.line, message=f"YAML: {error.message}"))
        return None
    for path, duplicate in file.source.duplicate_keys():
        file.problems.append(
            PolicyProblem(
                file=file.path,
                line=duplicate.line,
                message=f"{_dotted(path)}{duplicate.key}: key written twice (YAML keeps only the last)",
            )
        )
    if not isinstance(file.source.value, dict):
        expected = ", ".join(model.model_fields)
        file.report((), f"must be a mapping with the keys {expected}")
        return None
    try:
        validated = model.model_validate(file.source.value)
    except ValidationError as error:
        for item in error.errors(include_input=False, include_url=False, include_context=False):
            file.report(item["loc"], _message(item["type"], item["msg"]))
        return None
    return None if file.problems else validated


def _message(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key missing"
    return message.removeprefix("Value error, ")


def _dotted(location: Location) -> str:
    """A location as a path a reader can follow: ``jurisdictions[0].deadline: ``."""
    text = ""
    for step in location:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return f"{text}: " if text else ""


def _jurisdictions(
    file: _File, validated: JurisdictionsFile
) -> tuple[tuple[Jurisdiction, ...], Jurisdiction] | None:
    """The jurisdictions, refusing a code or a country used twice (each would make a lookup ambiguous)."""
    codes: dict[str, int] = {}
    countries: dict[str, str] = {}
    for index, entry in enumerate(validated.jurisdictions):
        if entry.code in codes:
            file.report(
                ("jurisdictions", index, "code"),
                f"code {entry.code} already used by jurisdictions[{codes[entry.code]}]",
            )
        codes.setdefault(entry.code, index)
        for position, country in enumerate(entry.countries):
            if country in countries:
                file.report(
                    ("jurisdictions", index, "countries", position),
                    f"{country} is already listed in jurisdiction {countries[country]}",
                )
            countries.setdefault(country, entry.code)
    if validated.default.code in codes:
        file.report(("default", "code"), f"code {validated.default.code} already used by a jurisdiction")
    if file.problems:
        return None
    return tuple(_jurisdiction(entry) for entry in validated.jurisdictions), _jurisdiction(validated.default)


def _jurisdiction(entry: JurisdictionEntry | DefaultJurisdictionEntry) -> Jurisdiction:
    return Jurisdiction(
        code=entry.code,
        name=entry.name,
        law=entry.law,
        countries=frozenset(entry.countries) if isinstance(entry, JurisdictionEntry) else frozenset(),
        deadline=entry.deadline,
        deadline_note=entry.deadline_note,
        roll_to_working_day=entry.roll_to_working_day,
        extension=entry.extension if entry.extension and not entry.extension.is_zero else None,
        acknowledge_within=entry.acknowledge_within,
        approval=frozenset(entry.approval),
        supervisory_authority=entry.supervisory_authority,
    )


def _holidays(file: _File, validated: HolidaysFile) -> HolidayCalendars | None:
    """Each country's calendar, refusing a country written twice and a worked day that is no weekend day.

    A date written twice under one country is a duplicated YAML key, refused
    with its line before this point.
    """
    for section in ("holidays", "working_weekend_days"):
        _refuse_a_country_twice(file, section)
    for country, days in validated.working_weekend_days.items():
        holidays = validated.holidays.get(country, {})
        for day in days:
            where = ("working_weekend_days", country, day.isoformat())
            if day.weekday() < _SATURDAY:
                file.report(where, f"{day:%A} is not a weekend day; list only Saturdays and Sundays worked")
            elif day in holidays:
                file.report(where, f"is also listed as a holiday: {holidays[day]}")
    if file.problems:
        return None
    countries = sorted({*validated.holidays, *validated.working_weekend_days})
    return HolidayCalendars(
        by_country=MappingProxyType(
            {
                country: HolidayCalendar(
                    country=country,
                    holidays=_frozen(validated.holidays.get(country, {})),
                    working_weekend_days=_frozen(validated.working_weekend_days.get(country, {})),
                )
                for country in countries
            }
        )
    )


def _refuse_a_country_twice(file: _File, section: str) -> None:
    """Refuse "de" after "DE": one country, of whose two lists pydantic would silently keep one."""
    written = file.source.value.get(section) if file.source and isinstance(file.source.value, dict) else None
    if not isinstance(written, dict):
        return
    seen: dict[str, object] = {}
    for key in written:
        code = normalise_country(key) if isinstance(key, str) else key
        if code in seen:
            file.report((section, key), f"{code} is already listed as {seen[code]}")
        seen.setdefault(code, key)


def _frozen(days: dict[date, str]) -> MappingProxyType[date, str]:
    return MappingProxyType(dict(days))


def _systems(
    file: _File, validated: SystemsFile, environ: Mapping[str, str]
) -> tuple[SystemSpec, ...] | None:
    """The declared systems with their secrets from the environment; every unusable secret is reported."""
    names: dict[str, int] = {}
    systems: list[SystemSpec] = []
    for index, entry in enumerate(validated.systems):
        if entry.name in names:
            file.report(
                ("systems", index, "name"),
                f"system {entry.name} already declared at systems[{names[entry.name]}]",
            )
        names.setdefault(entry.name, index)
        secret = environ.get(entry.secret_env, "")
        problem = _secret_problem(secret)
        if problem:
            file.report(
                ("systems", index, "secret_env"), f"the environment variable {entry.secret_env} {problem}"
            )
            continue
        systems.append(
            SystemSpec(
                name=entry.name,
                url=entry.url,
                request_types=frozenset(entry.request_types),
                categories=tuple(entry.categories),
                secret=secret,
                timeout_seconds=entry.timeout_seconds,
            )
        )
    return None if file.problems else tuple(systems)


def _secret_problem(secret: str) -> str | None:
    """What is wrong with a webhook secret, in words that never include it."""
    if not secret.strip():
        return "is not set"
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return f"must hold a Standard Webhooks secret: {WEBHOOK_SECRET_PREFIX} followed by base64"
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return f"must hold {WEBHOOK_SECRET_PREFIX} followed by valid base64"
    if len(key) not in _SECRET_BYTES:
        return "must hold a key of 24 to 64 bytes (Standard Webhooks)"
    return None
