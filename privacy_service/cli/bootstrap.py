"""How a command gets going: its settings, data directory, database, keys, with one-line failures.

Every failure a user can cause (a bad setting, an out-of-date schema, an
unreachable database, an unsafe key file) ends with one line on stderr that
says what is wrong and what to do, and a non-zero exit code; never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import click
from pydantic import ValidationError
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from privacy_service.core import migrations
from privacy_service.core.clock import SystemClock
from privacy_service.core.config import Settings, SettingsError, load_settings
from privacy_service.core.db import create_engine_for, create_session_factory, sqlite_file
from privacy_service.core.logging import configure_logging
from privacy_service.crypto import CryptoError
from privacy_service.documents import SubjectTexts
from privacy_service.identity.credentials import Credentials
from privacy_service.keys.service import Keyring
from privacy_service.policy import Policies, PolicyError, load_policies
from privacy_service.work import Workplace

EXIT_FAILURE = 1
EXIT_USAGE = 2


def fail(message: str, *, exit_code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(f"privacy-service: error: {message}", err=True)
    sys.exit(exit_code)


def validation_message(error: ValidationError) -> str:
    """Which fields of an operator's input are invalid, by name; never their values."""
    fields = sorted({".".join(str(part) for part in item["loc"]) or "value" for item in error.errors()})
    return "invalid " + ", ".join(fields)


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as error:
        settings_failure(error)


def settings_failure(error: SettingsError) -> NoReturn:
    """Each bad setting on one line, named by its variable, then exit 2: never a traceback."""
    for problem in error.problems:
        click.echo(f"privacy-service: invalid setting: {problem}", err=True)
    sys.exit(EXIT_USAGE)


def shown_database_url(settings: Settings) -> str:
    """The database URL as an operator may see it: any password replaced by ``***``."""
    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


def announce_storage(settings: Settings) -> None:
    """Say on stderr which database and data directory the command works on (never on stdout: --json)."""
    database, data_dir = shown_database_url(settings), settings.data_dir.resolve()
    click.echo(f"privacy-service: database {database}, data directory {data_dir}", err=True)


def require_existing_database(settings: Settings, engine: Engine | None = None) -> None:
    """Stop, saying what to run, when the database was never created; only serve and migrate create it.

    An SQLite file that is missing is not opened (that would create it); a
    database that no migration has touched (a PostgreSQL database never
    migrated, an empty file) is looked at and left as it is.
    """
    path = sqlite_file(settings.effective_database_url)
    if path is not None and not os.path.exists(path):
        fail(
            f"no database at {path}: run `privacy-service migrate` (or `privacy-service serve`) "
            "to create it, or set PRIVACY_DATA_DIR / PRIVACY_DATABASE_URL to the existing one"
        )
    if engine is not None:
        with database_errors():
            revision = migrations.current_revision(engine)
        if revision is None:
            engine.dispose()
            fail(
                f"the database {shown_database_url(settings)} has no schema yet: "
                "run `privacy-service migrate` to create it"
            )


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


def policies_or_exit(settings: Settings) -> Policies:
    """The policies and notice templates, checked as start-up does: each problem by file and line, exit 2."""
    problems: list[str] = []
    try:
        policies = load_policies(settings.effective_policies_dir, environ=os.environ)
    except PolicyError as error:
        problems.extend(str(problem) for problem in error.problems)
    problems.extend(str(problem) for problem in SubjectTexts.problems_in(settings.effective_notices_dir))
    if problems:
        for problem in problems:
            click.echo(f"privacy-service: policy error: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    return policies


def ready_engine(settings: Settings, *, migrate_embedded: bool, create: bool = False) -> Engine:
    """An engine on an up-to-date schema; the embedded default migrates itself, others must be migrated.

    Only ``create`` (``serve``) makes a database where there is none; any
    other command stops and says to run ``privacy-service migrate``.
    """
    announce_storage(settings)
    if not create:
        require_existing_database(settings)
    prepare_data_dir(settings)
    engine = create_engine_for(settings)
    if not create:
        require_existing_database(settings, engine)
    with database_errors():
        if migrate_embedded and settings.is_embedded:
            migrate_and_say(engine)
        else:
            migrations.ensure_current(engine)
    return engine


def migrate_and_say(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to head; one line on stderr when that changed it. Returns (before, after)."""
    before = migrations.current_revision(engine)
    if before != migrations.head_revision(engine):
        migrations.upgrade(engine)
    after = migrations.current_revision(engine)
    if before != after:
        click.echo(f"privacy-service: database schema migrated from {before or 'empty'} to {after}", err=True)
    return before, after


def open_keyring(settings: Settings) -> Keyring:
    """The key provider the settings name (on first run, a new 0600 key file in the data dir)."""
    try:
        return Keyring.from_settings(settings, clock=SystemClock())
    except SettingsError as error:
        settings_failure(error)
    except (CryptoError, OSError) as error:
        fail(f"cannot open the keys: {error}")


@dataclass(frozen=True)
class Console:
    """What an account or key command works with: settings, units of work (with the keys and the wall
    clock) and identity."""

    settings: Settings
    workplace: Workplace
    credentials: Credentials


@contextmanager
def identity_console() -> Iterator[Console]:
    """Settings (with logging), an up-to-date database, the keys and Credentials; closed after."""
    settings = settings_or_exit()
    configure_logging(settings.log_level)
    engine = ready_engine(settings, migrate_embedded=True)
    keyring = open_keyring(settings)
    clock = SystemClock()
    try:
        credentials = Credentials.from_settings(settings, keyring=keyring, clock=clock)
    except CryptoError as error:  # settings refuse what they can; this is the last line of defence
        engine.dispose()
        fail(f"cannot start: {error}")
    try:
        yield Console(
            settings=settings,
            workplace=Workplace(sessions=create_session_factory(engine), clock=clock, keyring=keyring),
            credentials=credentials,
        )
    finally:
        credentials.close()
        engine.dispose()
