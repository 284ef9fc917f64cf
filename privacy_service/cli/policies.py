"""``privacy-service policies``: validate the policies directory and show what it would do.

``check`` runs the same validation as start-up, so a change to ``policies/``
can be tried (and run in CI) before it is deployed, and prints the warnings
(gaps the service runs with but the shop should close; ``--strict`` fails on
them); ``explain`` is a dry run of one request that an operator or auditor
can read; ``ropa`` prints the record of processing activities (GDPR Art. 30).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from privacy_service.cli.bootstrap import EXIT_FAILURE, settings_or_exit
from privacy_service.core.clock import SystemClock
from privacy_service.core.config import shipped_policies_dir
from privacy_service.documents import SubjectTexts
from privacy_service.policy import Policies, PolicyError, PolicyProblem, RequestType, load_policies
from privacy_service.policy.loader import (
    HOLIDAYS_FILE,
    JURISDICTIONS_FILE,
    OPTIONAL_REMEDIES_FILE,
    PROCESSING_FILE,
    REMEDIES_FILE,
    RETENTION_FILE,
    SYSTEMS_FILE,
)
from privacy_service.policy.ropa import ropa_csv, ropa_markdown

_COUNTRY = re.compile(r"[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?")

_directory_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The policies directory (default: PRIVACY_POLICIES_DIR, else the shipped policies/).",
)


@click.group()
def policies() -> None:
    """Policies as code: jurisdictions, retention, downstream systems, processing, rights and remedies."""


@policies.command()
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@_directory_option
def check(strict: bool, directory: Path | None) -> None:
    """Validate the policies and notice templates; print a summary and warnings, or each problem, exit 1."""
    notices_dir = _notices_dir(directory)
    template_problems = SubjectTexts.problems_in(notices_dir)
    loaded = _load_or_exit(directory, also=[str(problem) for problem in template_problems])
    source = _shown(loaded.source)
    countries = sum(len(jurisdiction.countries) for jurisdiction in loaded.jurisdictions)
    click.echo(
        f"{source / JURISDICTIONS_FILE}: {len(loaded.jurisdictions)} jurisdictions "
        f"({countries} countries) and a default"
    )
    click.echo(f"{source / RETENTION_FILE}: {len(loaded.retention)} retention rules")
    click.echo(f"{source / SYSTEMS_FILE}: {len(loaded.systems)} downstream systems")
    calendars = loaded.holidays.by_country
    years = sorted({year for calendar in calendars.values() for year in calendar.years})
    span = f", {years[0]}-{years[-1]}" if years else ""
    click.echo(f"{source / HOLIDAYS_FILE}: public holidays of {len(calendars)} countries{span}")
    _summarise_processing(loaded, source)
    texts = SubjectTexts.load(notices_dir)
    click.echo(
        f"{_shown(texts.directory)}: notices and the export's summary in {len(texts.languages)} languages "
        f"({', '.join(texts.languages)})"
    )
    for warning in loaded.warnings:
        click.echo(f"privacy-service: policy warning: {_where(warning)}: {warning.message}", err=True)
    if strict and loaded.warnings:
        sys.exit(EXIT_FAILURE)


def _summarise_processing(loaded: Policies, source: Path) -> None:
    record = loaded.processing
    outside = sum(1 for recipient in record.recipients if record.transfer_to(recipient).third_country)
    click.echo(
        f"{source / PROCESSING_FILE}: {len(record.purposes)} purposes, {len(record.categories)} data "
        f"categories, {len(record.recipients)} recipients ({outside} outside the EU/EEA), "
        f"{len(record.automated_decisions)} automated decisions"
    )
    click.echo(f"{source / REMEDIES_FILE}: rights and remedies for {len(loaded.remedies)} jurisdictions")
    if loaded.unused_remedies:
        click.echo(
            f"{source / OPTIONAL_REMEDIES_FILE}: not used, no such jurisdiction declared: "
            f"{', '.join(loaded.unused_remedies)}"
        )


@policies.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["markdown", "csv"]),
    default="markdown",
    show_default=True,
    help="Markdown to read, or CSV with one row per purpose.",
)
@_directory_option
def ropa(output_format: str, directory: Path | None) -> None:
    """Print the record of processing activities (GDPR Art. 30) drawn from the policies."""
    loaded = _load_or_exit(directory)
    click.echo(ropa_csv(loaded) if output_format == "csv" else ropa_markdown(loaded), nl=False)


@policies.command()
@click.option("--country", required=True, help="ISO 3166 code of the subject's country: DE, GB, US-CA…")
@click.option(
    "--type",
    "request_type",
    required=True,
    type=click.Choice([str(kind) for kind in RequestType]),
    help="The kind of request.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@_directory_option
def explain(country: str, request_type: str, as_json: bool, directory: Path | None) -> None:
    """Show what would happen to a request: law, deadline, approval, systems asked, data kept back."""
    if not _COUNTRY.fullmatch(country.strip()):
        raise click.BadParameter("an ISO 3166 code such as DE or US-CA", param_hint="--country")
    loaded = _load_or_exit(directory)
    explanation = loaded.explain(
        country=country, request_type=RequestType(request_type), received_at=SystemClock().now()
    )
    if as_json:
        click.echo(json.dumps(explanation.to_json(), ensure_ascii=False))
    else:
        for line in explanation.render():
            click.echo(line)


def _load_or_exit(directory: Path | None, *, also: list[str] | None = None) -> Policies:
    """The policies, or each problem on stderr and exit 1; settings are read only when no --dir is given.

    ``also`` are problems found elsewhere (the notice templates), reported with the policies' own.
    """
    path = directory if directory is not None else settings_or_exit().effective_policies_dir
    problems = list(also or [])
    try:
        loaded = load_policies(path, environ=os.environ)
    except PolicyError as error:
        for found in error.problems:
            problems.append(f"{_where(found)}: {found.message}")
    if problems:
        for problem in problems:
            click.echo(f"privacy-service: policy error: {problem}", err=True)
        sys.exit(EXIT_FAILURE)
    return loaded


def _notices_dir(directory: Path | None) -> Path:
    """The notice templates checked with ``directory``: its notices/, else the shipped ones."""
    if directory is None:
        return settings_or_exit().effective_notices_dir
    own = directory / "notices"
    return own if own.is_dir() else shipped_policies_dir() / "notices"


def _where(problem: PolicyProblem) -> str:
    return f"{_shown(problem.file)}:{problem.line}" if problem.line else str(_shown(problem.file))


def _shown(path: Path) -> Path:
    """A path relative to the working directory when it lies below it: shorter to read."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path
