"""The ``privacy-service`` command: serve, worker, migrate, openapi, keys.

Every failure a user can cause (a bad setting, an out-of-date schema, an
unreachable database) ends with one line on stderr that says what is wrong and
what to do, and a non-zero exit code; never a traceback.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import privacy_service
from privacy_service.core import migrations
from privacy_service.core.clock import SystemClock
from privacy_service.core.config import Settings, SettingsError, load_settings
from privacy_service.core.db import create_engine_for, create_session_factory, unit_of_work
from privacy_service.core.errors import DomainError
from privacy_service.core.logging import configure_logging
from privacy_service.crypto import CryptoError
from privacy_service.crypto.key_file import DEFAULT_RELOAD_INTERVAL
from privacy_service.keys.service import Keyring, add_kek_version

log = logging.getLogger("privacy_service.cli")

# A running process re-reads the key file at most this long after it changes.
KEY_FILE_NOTICE_SECONDS = DEFAULT_RELOAD_INTERVAL + 0.1

EXIT_FAILURE = 1
EXIT_USAGE = 2


def fail(message: str, *, exit_code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(f"privacy-service: error: {message}", err=True)
    sys.exit(exit_code)


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as error:
        for problem in error.problems:
            click.echo(f"privacy-service: invalid setting: {problem}", err=True)
        sys.exit(EXIT_USAGE)


def prepare_data_dir(settings: Settings) -> None:
    """The data directory holds the database and keys: readable by the service's user only."""
    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        fail(f"cannot create the data directory {settings.data_dir}: {error.strerror}")


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a database failure into one clear line; the driver's message may quote parameters, so omit it."""
    try:
        yield
    except migrations.SchemaOutOfDate as error:
        fail(str(error))
    except SQLAlchemyError as error:
        fail(f"the database is not reachable or refused the operation ({type(error).__name__})")


def ready_engine(settings: Settings, *, migrate_embedded: bool) -> Engine:
    """An engine on an up-to-date schema; the embedded default migrates itself, others must be migrated."""
    prepare_data_dir(settings)
    engine = create_engine_for(settings)
    with database_errors():
        if migrate_embedded and settings.is_embedded:
            migrations.upgrade(engine)
        else:
            migrations.ensure_current(engine)
    return engine


def open_keyring(settings: Settings) -> Keyring:
    """The key provider the settings name (on first run, a new 0600 key file in the data dir)."""
    try:
        return Keyring.from_settings(settings, clock=SystemClock())
    except SettingsError as error:
        for problem in error.problems:
            click.echo(f"privacy-service: invalid setting: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    except (CryptoError, OSError) as error:
        fail(f"cannot open the keys: {error}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(privacy_service.__version__, prog_name="privacy-service")
def cli() -> None:
    """privacy-service: login, encrypted personal data, audit trail and data subject requests for shops."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--no-worker", is_flag=True, help="Run only the HTTP API; run `privacy-service worker` apart.")
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM).")
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM).")
@click.option("--ssl-keyfile-password", default=None, help="Password of the TLS private key.")
@click.option(
    "--ssl-ca-certs", type=click.Path(exists=True, dir_okay=False), help="CA bundle for client certs."
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Proxies trusted to set X-Forwarded-Proto/For (comma-separated IPs).",
)
def serve(
    host: str,
    port: int,
    no_worker: bool,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    ssl_keyfile_password: str | None,
    ssl_ca_certs: str | None,
    forwarded_allow_ips: str | None,
) -> None:
    """Run the HTTP API and, unless --no-worker, the background worker in the same process."""
    import uvicorn

    from privacy_service.main import create_app

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    if bool(ssl_certfile) != bool(ssl_keyfile):
        fail("--ssl-certfile and --ssl-keyfile go together", exit_code=EXIT_USAGE)
    if settings.public_url is None:
        scheme = "https" if ssl_certfile else "http"
        settings = settings.model_copy(update={"public_url": f"{scheme}://{host}:{port}"})
    engine = ready_engine(settings, migrate_embedded=True)
    keyring = open_keyring(settings)
    app = create_app(settings, engine=engine, keyring=keyring, clock=SystemClock(), run_worker=not no_worker)
    log.info("serving", extra={"host": host, "port": port, "worker": not no_worker})
    # Uvicorn traps SIGTERM/SIGINT: it stops accepting, finishes in-flight requests,
    # then runs the app's shutdown, which stops the worker after its current job.
    # Afterwards it re-raises the signal to the handler found before it; a quiet one
    # lets a graceful stop end with exit status 0 instead of death by signal.
    _on_signals(lambda: None, signal.SIGTERM, signal.SIGINT)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=30,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        ssl_keyfile_password=ssl_keyfile_password,
        ssl_ca_certs=ssl_ca_certs,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@cli.command()
def worker() -> None:
    """Run the background worker alone (fan-out, retries, audit sealing); stops cleanly on SIGTERM."""
    from privacy_service.worker import Worker, default_jobs

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    engine = ready_engine(settings, migrate_embedded=False)
    loop = Worker(
        sessions=create_session_factory(engine),
        clock=SystemClock(),
        jobs=default_jobs(),
        poll_seconds=settings.worker_poll_seconds,
    )
    _on_signals(lambda: loop.stop(), signal.SIGTERM, signal.SIGINT)
    loop.run()
    engine.dispose()


def _on_signals(action: Callable[[], None], *signals: signal.Signals) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        action()

    for each in signals:
        signal.signal(each, handler)


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    prepare_data_dir(settings)
    engine = create_engine_for(settings)
    with database_errors():
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        after = migrations.current_revision(engine)
    engine.dispose()
    if before == after:
        click.echo(f"database schema already at {after}")
    else:
        click.echo(f"database schema migrated from {before or 'empty'} to {after}")


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document (redirect it to openapi/openapi.json)."""
    from privacy_service.main import openapi_document

    document = openapi_document(settings_or_exit())
    click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))


@cli.group()
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
    sessions = create_session_factory(engine)
    keyring = open_keyring(settings)
    with database_errors(), unit_of_work(sessions) as session:
        stale = keyring.stale_count(session=session)
    if stale:
        click.echo(f"resuming: {stale} data keys are still wrapped under an older KEK version")
    else:
        try:
            version = add_kek_version(keyring.provider)
        except DomainError as error:
            fail(error.detail)
        click.echo(f"added KEK version {version}; new data keys are wrapped under it")
        with database_errors(), unit_of_work(sessions) as session:
            stale = keyring.stale_count(session=session)
    with database_errors(), click.progressbar(length=stale, label="re-wrapping data keys") as progress:
        while True:
            with unit_of_work(sessions) as session:
                done = keyring.rewrap_batch(session=session, batch_size=batch_size)
            if done:
                progress.update(done)
                continue
            # Running services notice a new KEK version within a second; a key one of them
            # created just before that is caught by one more sweep after the notice window.
            time.sleep(KEY_FILE_NOTICE_SECONDS)
            with unit_of_work(sessions) as session:
                if keyring.rewrap_batch(session=session, batch_size=batch_size) == 0:
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
    with database_errors(), unit_of_work(create_session_factory(engine)) as session:
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


def main() -> None:
    cli(prog_name="privacy-service")
