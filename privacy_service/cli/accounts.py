"""Accounts from the console: staff bootstrap, shop clients, and importing a shop's customers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from privacy_service.cli.bootstrap import (
    EXIT_FAILURE,
    EXIT_USAGE,
    database_errors,
    fail,
    identity_console,
)
from privacy_service.core.db import unit_of_work
from privacy_service.core.errors import DomainError
from privacy_service.crypto import CryptoError
from privacy_service.identity import accounts, clients
from privacy_service.identity.scopes import Role, parse_scopes
from privacy_service.identity.staff import create_staff
from privacy_service.vault.errors import EmailTaken

MAX_IMPORT_LINE_BYTES = 64 * 1024


@click.group()
def admin() -> None:
    """Staff accounts."""


@admin.command("create")
@click.option("--email", required=True, help="The staff member's email address.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.ADMIN.value,
    show_default=True,
    help="The staff role.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print {id, email, otpauth_uri, recovery_codes} as JSON."
)
def create_admin(email: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Create a staff user with TOTP already enrolled; print the otpauth:// URI for their authenticator."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with identity_console() as console, database_errors(), unit_of_work(console.sessions) as session:
            staff = create_staff(
                session=session,
                identity=console.identity,
                keyring=console.keyring,
                clock=console.clock,
                email=email,
                password=password,
                roles=[Role(role)],
            )
    except ValidationError as error:
        fail(_validation_message(error), exit_code=EXIT_USAGE)
    except DomainError as error:
        fail(error.detail, exit_code=EXIT_USAGE if error.status < 500 else EXIT_FAILURE)
    assert staff.enrolment is not None
    if as_json:
        answer = {
            "id": staff.user_id,
            "email": email,
            "otpauth_uri": staff.enrolment.otpauth_uri,
            "recovery_codes": staff.recovery_codes,
        }
        click.echo(json.dumps(answer))
        return
    click.echo(f"created {role} {staff.user_id}")
    click.echo(f"TOTP enrolment (load it into an authenticator app): {staff.enrolment.otpauth_uri}")
    click.echo("recovery codes (shown once): " + " ".join(staff.recovery_codes))


@click.group("clients")
def clients_group() -> None:
    """Shop backends (OAuth clients)."""


@clients_group.command("create")
@click.option("--name", required=True, help="A name for the shop backend.")
@click.option("--scopes", required=True, help='Space-separated scopes, e.g. "auth:login users:write".')
@click.option(
    "--json", "as_json", is_flag=True, help="Print {client_id, client_secret, name, scopes} as JSON."
)
def create_client(name: str, scopes: str, as_json: bool) -> None:
    """Register a shop backend; its secret is printed once and stored only as a keyed digest."""
    try:
        granted = parse_scopes(scopes)
    except ValueError as error:
        fail(str(error), exit_code=EXIT_USAGE)
    if not granted:
        fail("give at least one scope", exit_code=EXIT_USAGE)
    with identity_console() as console, database_errors(), unit_of_work(console.sessions) as session:
        registered = clients.register_client(
            session=session, digests=console.identity.digests, clock=console.clock, name=name, scopes=granted
        )
    if as_json:
        answer = {
            "client_id": registered.client_id,
            "client_secret": registered.client_secret,
            "name": registered.name,
            "scopes": [str(scope) for scope in registered.scopes],
        }
        click.echo(json.dumps(answer))
        return
    click.echo(f"client_id: {registered.client_id}")
    click.echo(f"client_secret (shown once): {registered.client_secret}")


@click.group("users")
def users_group() -> None:
    """Customer accounts."""


@users_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print {imported, skipped, failed: [{line, error}]}.")
def import_users(file: Path, as_json: bool) -> None:
    """Import a shop's customers with their old password hashes (JSON lines), without a password reset.

    Each line: {"email", "password_hash", "country", "profile"?}. An email
    already present is skipped; a bad line is reported by number and the rest
    go on; the command exits non-zero if any line failed.
    """
    imported = skipped = 0
    failed: list[dict[str, Any]] = []
    with identity_console() as console, file.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                account = _parse_import_line(raw)
                with unit_of_work(console.sessions) as session:
                    accounts.import_user(
                        session=session,
                        keyring=console.keyring,
                        emails=console.identity.emails,
                        hasher=console.identity.passwords.hasher,
                        clock=console.clock,
                        email=account["email"],
                        legacy_hash=account["password_hash"],
                        profile={**account.get("profile", {}), "country": account["country"]},
                    )
                imported += 1
            except EmailTaken:
                skipped += 1
            except ImportLineError as error:
                failed.append({"line": number, "error": str(error)})
            except ValidationError as error:
                failed.append({"line": number, "error": _validation_message(error)})
            except (DomainError, CryptoError) as error:
                failed.append({"line": number, "error": getattr(error, "detail", None) or error.title})
            except SQLAlchemyError as error:
                fail(f"line {number}: the database refused the import ({type(error).__name__})")
    if as_json:
        click.echo(json.dumps({"imported": imported, "skipped": skipped, "failed": failed}))
    else:
        click.echo(f"{file}: imported {imported}, skipped {skipped} (already present), failed {len(failed)}")
        for failure in failed:
            click.echo(f"{file}:{failure['line']}: {failure['error']}", err=True)
    if failed:
        sys.exit(EXIT_FAILURE)


class ImportLineError(Exception):
    """A line of an import file that cannot be read; the message names the problem, never a value."""


def _parse_import_line(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_IMPORT_LINE_BYTES:
        raise ImportLineError(f"line longer than {MAX_IMPORT_LINE_BYTES} bytes")
    try:
        account = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ImportLineError("not a JSON object") from None
    if not isinstance(account, dict):
        raise ImportLineError("not a JSON object")
    for name in ("email", "password_hash", "country"):
        if not isinstance(account.get(name), str) or not account[name]:
            raise ImportLineError(f"missing or empty field {name!r}")
    if "profile" in account and not isinstance(account["profile"], dict):
        raise ImportLineError("'profile' must be a JSON object")
    unknown = sorted(set(account) - {"email", "password_hash", "country", "profile"})
    if unknown:
        raise ImportLineError(f"unknown field {unknown[0]!r}")
    return account


def _validation_message(error: ValidationError) -> str:
    fields = sorted({".".join(str(part) for part in item["loc"]) or "value" for item in error.errors()})
    return "invalid " + ", ".join(fields)
