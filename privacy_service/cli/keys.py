"""``privacy-service keys``: key-encryption keys and the data keys they wrap."""

from __future__ import annotations

import json
import time

import click

from privacy_service.audit import recorder as audit
from privacy_service.audit.actions import SYSTEM, Action, Outcome, Party, PartyType
from privacy_service.cli.bootstrap import (
    database_errors,
    fail,
    identity_console,
    open_keyring,
    ready_engine,
    settings_or_exit,
)
from privacy_service.core.clock import SystemClock
from privacy_service.core.db import create_session_factory
from privacy_service.core.errors import DomainError
from privacy_service.core.logging import configure_logging
from privacy_service.keys.service import add_kek_version
from privacy_service.work import Workplace

# Running services wrap under the new KEK version from their next use of the key file; a key one of
# them wrapped under the old version just before, in a transaction still open, commits within this.
IN_FLIGHT_SECONDS = 1.1


@click.group()
def keys() -> None:
    """Key-encryption keys and the data keys they wrap."""


@keys.command()
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
def rotate(batch_size: int) -> None:
    """Add a KEK version and re-wrap every data key under it, online and resumably.

    If an earlier rotation was interrupted, this resumes it instead of adding
    another version. Older versions stay usable until every key is re-wrapped.
    """
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    engine = ready_engine(settings, migrate_embedded=True)
    keyring = open_keyring(settings)
    workplace = Workplace(sessions=create_session_factory(engine), clock=SystemClock(), keyring=keyring)
    with database_errors(), workplace.open() as work:
        stale = keyring.stale_count(session=work.session)
    if stale:
        click.echo(f"resuming: {stale} data keys are still wrapped under an older KEK version")
    else:
        try:
            version = add_kek_version(keyring.provider)
        except DomainError as error:
            fail(error.detail)
        click.echo(f"added KEK version {version}; new data keys are wrapped under it")
        with database_errors(), workplace.open() as work:
            audit.record(
                work,
                actor=SYSTEM,
                action=Action.KEY_ROTATE,
                target=Party(type=PartyType.KEY, id=f"kek-{version}"),
                outcome=Outcome.SUCCESS,
            )
        with database_errors(), workplace.open() as work:
            stale = keyring.stale_count(session=work.session)
    with database_errors(), click.progressbar(length=stale, label="re-wrapping data keys") as progress:
        while True:
            with workplace.open() as work:
                done = keyring.rewrap_batch(session=work.session, batch_size=batch_size)
            if done:
                progress.update(done)
                continue
            # A key wrapped under the old version by a transaction still open when the sweep passed
            # is caught by one more sweep once such transactions have ended.
            time.sleep(IN_FLIGHT_SECONDS)
            with workplace.open() as work:
                if keyring.rewrap_batch(session=work.session, batch_size=batch_size) == 0:
                    break
    click.echo(f"every data key is wrapped under KEK version {keyring.provider.current_version()}")
    engine.dispose()


@keys.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(as_json: bool) -> None:
    """Show each KEK version and how many data keys it wraps."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    engine = ready_engine(settings, migrate_embedded=True)
    keyring = open_keyring(settings)
    with database_errors(), create_session_factory(engine)() as session:
        usage = keyring.usage(session=session)
    engine.dispose()
    if as_json:
        rows = [{"kek_version": u.kek_version, "data_keys": u.data_keys, "current": u.current} for u in usage]
        click.echo(json.dumps({"provider": settings.key_provider, "versions": rows}))
        return
    click.echo(f"key provider: {settings.key_provider}")
    click.echo("KEK version  data keys  ")
    for u in usage:
        click.echo(f"{u.kek_version:>11}  {u.data_keys:>9}  {'current' if u.current else ''}".rstrip())


@keys.command("rotate-signing")
def rotate_signing() -> None:
    """Start signing tokens with a new key; the old public key stays in the JWKS until its tokens expire.

    Running services sign with the new key within PRIVACY_SIGNING_KEY_CACHE_SECONDS.
    """
    with identity_console() as console, database_errors(), console.workplace.open() as work:
        kid = console.credentials.tokens.rotate_signing_key(work)
        audit.record(
            work,
            actor=SYSTEM,
            action=Action.SIGNING_KEY_ROTATE,
            target=Party(type=PartyType.SIGNING_KEY, id=kid),
            outcome=Outcome.SUCCESS,
        )
        within = console.settings.signing_key_cache_seconds
    click.echo(f"new token-signing key {kid}; running services use it within {within:g} s")
