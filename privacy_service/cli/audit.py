"""``privacy-service audit``: check the tamper-evident trail, as ``aws cloudtrail validate-logs`` does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from privacy_service.audit.checkpoints import CheckpointCadence, public_keys
from privacy_service.audit.verify import verify_chain
from privacy_service.audit.witness import FileWitness
from privacy_service.cli.bootstrap import EXIT_FAILURE, database_errors, ready_engine, settings_or_exit
from privacy_service.core.clock import SystemClock
from privacy_service.core.db import create_session_factory
from privacy_service.core.logging import configure_logging


@click.group()
def audit() -> None:
    """The audit trail."""


@audit.command()
@click.option("--from-seq", type=click.IntRange(min=1), default=None, help="First event to check.")
@click.option("--to-seq", type=click.IntRange(min=1), default=None, help="Last event to check.")
@click.option(
    "--witness-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Checkpoints copied elsewhere (default: PRIVACY_AUDIT_WITNESS_FILE); catches a truncated tail.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(from_seq: int | None, to_seq: int | None, witness_file: str | None, as_json: bool) -> None:
    """Recompute the hash chain and check every checkpoint signature; exit 1 on any break.

    Streams the events in batches (constant memory) and shows progress on a terminal.
    """
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    engine = ready_engine(settings, migrate_embedded=False)
    cadence = CheckpointCadence(
        every_events=settings.audit_checkpoint_every, every_seconds=settings.audit_checkpoint_seconds
    )
    witness_path = witness_file or settings.audit_witness_file
    witnessed = list(FileWitness(Path(witness_path)).statements()) if witness_path else []
    show_progress = sys.stderr.isatty() and not as_json
    with database_errors(), create_session_factory(engine)() as session:
        keys = public_keys(session)
        with click.progressbar(length=0, label="verifying", file=sys.stderr, hidden=not show_progress) as bar:
            seen = 0

            def progress(checked: int) -> None:
                nonlocal seen
                bar.update(checked - seen)
                seen = checked

            report = verify_chain(
                session=session,
                public_keys=keys,
                from_seq=from_seq,
                to_seq=to_seq,
                cadence=cadence,
                now=SystemClock().now(),
                progress=progress,
                witnessed=witnessed,
            )
    engine.dispose()
    if as_json:
        click.echo(json.dumps(report.to_json()))
    elif report.ok:
        click.echo(f"audit trail intact: {report.events_checked} events checked, last seq {report.last_seq}")
    else:
        problem = report.problem.value if report.problem else "broken"
        click.echo(f"audit trail BROKEN at seq {report.first_bad_seq}: {problem}", err=True)
    if not report.ok:
        sys.exit(EXIT_FAILURE)
