"""``privacy-service erasures replay``: erase again what a restored backup brought back.

Run it right after restoring a backup: every erasure since ``--since`` that
the database or the erasure journal (kept outside the database) remembers is
carried out again on the restored data, so an erased customer stays erased.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from privacy_service.cli.bootstrap import EXIT_USAGE, database_errors, fail, identity_console
from privacy_service.dsr.erasure import JournalError, read_journal, replay_erasures
from privacy_service.dsr.fulfilment import erased_subject_index


@click.group()
def erasures() -> None:
    """Erasures of data subjects."""


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time", exit_code=EXIT_USAGE)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@erasures.command()
@click.option("--since", required=True, help="Replay erasures from this date or time on (ISO 8601, UTC).")
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The erasure journal (default: PRIVACY_ERASURE_JOURNAL_FILE); a missing file is skipped.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def replay(since: str, journal: Path | None, as_json: bool) -> None:
    """Erase again every subject erased since --since, by the keyed digests the erasures left."""
    moment = _moment(since)
    with identity_console() as console:
        path = journal or console.settings.effective_erasure_journal_file
        try:
            entries = list(read_journal(path)) if path.exists() else []
        except JournalError as error:
            fail(str(error))
        with database_errors(), console.workplace.open() as work:
            report = replay_erasures(
                work,
                emails=console.credentials.emails,
                erased_subjects=erased_subject_index(console.workplace.keyring),
                since=moment,
                journal=entries,
            )
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        click.echo(
            f"{report.entries} erasures since {moment.isoformat()}: "
            f"{report.erased} subjects were back and are erased again"
        )
    sys.exit(0)
