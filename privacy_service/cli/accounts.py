"""``privacy-service users``: customer accounts from the console, importing a shop's existing customers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from privacy_service.cli.bootstrap import EXIT_FAILURE, fail, identity_console, validation_message
from privacy_service.core.errors import DomainError
from privacy_service.crypto import CryptoError
from privacy_service.identity import accounts
from privacy_service.vault.errors import EmailTaken

MAX_IMPORT_LINE_BYTES = 64 * 1024


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
    # Progress by bytes read, on a terminal only: never mixed into a pipe's or --json's output.
    show_progress = sys.stderr.isatty() and not as_json
    with (
        identity_console() as console,
        file.open("rb") as lines,
        click.progressbar(
            length=file.stat().st_size,
            label="importing",
            file=sys.stderr,
            hidden=not show_progress,
            show_eta=True,
        ) as progress,
    ):
        for number, raw in enumerate(lines, start=1):
            progress.update(len(raw))
            if not raw.strip():
                continue
            try:
                account = _parse_import_line(raw)
                with console.workplace.open() as work:
                    accounts.import_user(
                        work,
                        emails=console.credentials.emails,
                        hasher=console.credentials.passwords.hasher,
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
                failed.append({"line": number, "error": validation_message(error)})
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
