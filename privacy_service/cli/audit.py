"""``privacy-service audit``: check the tamper-evident trail, as ``aws cloudtrail validate-logs`` does."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from privacy_service.audit.archive import (
    ArchiveInvalid,
    ChainNotVerified,
    archive_prefix,
    check_recorded,
    verify_archive,
)
from privacy_service.audit.checkpoints import CheckpointCadence, public_keys
from privacy_service.audit.verify import verify_chain
from privacy_service.audit.witness import FileWitness
from privacy_service.cli.bootstrap import (
    EXIT_FAILURE,
    EXIT_USAGE,
    database_errors,
    fail,
    open_keyring,
    ready_engine,
    settings_or_exit,
)
from privacy_service.core.clock import SystemClock
from privacy_service.core.db import create_session_factory
from privacy_service.core.logging import configure_logging
from privacy_service.work import Workplace


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
        archived = (
            "" if report.archived_through is None else f", archived up to seq {report.archived_through}"
        )
        checked = f"{report.events_checked} events checked, last seq {report.last_seq}"
        click.echo(f"audit trail intact: {checked}{archived}")
    else:
        problem = report.problem.value if report.problem else "broken"
        click.echo(f"audit trail BROKEN at seq {report.first_bad_seq}: {problem}", err=True)
    if not report.ok:
        sys.exit(EXIT_FAILURE)


@audit.command()
@click.option(
    "--before",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Archive events recorded before this date (UTC); default: PRIVACY_AUDIT_RETENTION_DAYS ago.",
)
@click.option(
    "--to",
    "to_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The signed JSON-lines archive to write (must not exist).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the archive's signed statement as JSON.")
def archive(before: datetime | None, to_file: Path, as_json: bool) -> None:
    """Move the oldest events to a signed archive file and delete them from the database.

    Only a whole prefix of the chain goes, and only if the chain verifies; the
    rest keeps verifying from the archive record. On PostgreSQL run it with the
    owner role's PRIVACY_DATABASE_URL: the service role may not delete events.
    Keep the file (and a copy) for as long as the law asks.
    """
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    clock = SystemClock()
    if before is not None:
        cut_off = before.replace(tzinfo=UTC)
    elif settings.audit_retention_days is not None:
        cut_off = clock.now() - timedelta(days=settings.audit_retention_days)
    else:
        fail("give --before DATE or set PRIVACY_AUDIT_RETENTION_DAYS", exit_code=EXIT_USAGE)
    if to_file.exists():
        fail(f"{to_file} exists already; archives are never overwritten", exit_code=EXIT_USAGE)
    engine = ready_engine(settings, migrate_embedded=False)
    keyring = open_keyring(settings)
    provider = keyring.provider
    workplace = Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring)
    partial = to_file.with_name(to_file.name + ".partial")
    statement = None
    try:
        with database_errors(), workplace.open() as work:
            with partial.open("xb") as out:
                statement = archive_prefix(work, provider=provider, before=cut_off, out=out)
                out.flush()
                os.fsync(out.fileno())
            # The archive is durable before the events leave the database (the commit, next).
            if statement is not None:
                partial.rename(to_file)
    except ChainNotVerified as error:
        fail(f"{error}; nothing was archived (run `privacy-service audit verify`)")
    except BaseException:
        if statement is not None:
            to_file.unlink(missing_ok=True)  # the commit failed: the events are still in the database
        raise
    finally:
        partial.unlink(missing_ok=True)
        engine.dispose()
    if statement is None:
        if as_json:
            click.echo(json.dumps(None))
        else:
            click.echo(f"nothing to archive: no event recorded before {cut_off.isoformat()} is left")
        return
    if as_json:
        click.echo(json.dumps(statement.to_json()))
    else:
        count = statement.through_seq - statement.first_seq + 1
        click.echo(
            f"archived {count} events (seq {statement.first_seq} to {statement.through_seq}) to {to_file}; "
            f"the chain now starts at seq {statement.through_seq + 1}"
        )


@audit.command("verify-archive")
@click.argument("archive_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_archive_command(archive_file: Path, as_json: bool) -> None:
    """Check an archive file: its signature, digest and every event's hash and link; exit 1 on any problem.

    The public keys come from the database, which must also still hold the archive's record.
    """
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    engine = ready_engine(settings, migrate_embedded=False)
    try:
        with database_errors(), create_session_factory(engine)() as session, archive_file.open("rb") as lines:
            statement = verify_archive(lines=lines, public_keys=public_keys(session))
            check_recorded(session=session, statement=statement)
    except ArchiveInvalid as error:
        if as_json:
            click.echo(json.dumps({"ok": False, "problem": error.problem.value, "line": error.line}))
        else:
            click.echo(f"audit archive INVALID at line {error.line}: {error.problem.value}", err=True)
        sys.exit(EXIT_FAILURE)
    finally:
        engine.dispose()
    count = statement.through_seq - statement.first_seq + 1
    if as_json:
        click.echo(json.dumps({"ok": True, "statement": statement.to_json()}))
    else:
        click.echo(
            f"audit archive intact: {count} events, seq {statement.first_seq} to {statement.through_seq}, "
            f"archive {statement.number} signed by key {statement.key_id}"
        )
