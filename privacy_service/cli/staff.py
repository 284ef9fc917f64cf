"""``privacy-service admin``: staff accounts (admins, compliance officers) from the operator's console.

Every change is an audit event with the service as its actor. Staff emails
are stored encrypted; ``admin list`` decrypts them for the operator's
terminal only, and no command logs them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from pydantic import ValidationError

from privacy_service.cli.bootstrap import (
    EXIT_FAILURE,
    EXIT_USAGE,
    Console,
    database_errors,
    fail,
    identity_console,
    validation_message,
)
from privacy_service.core.errors import DomainError
from privacy_service.identity import staff as service
from privacy_service.identity.models import User
from privacy_service.identity.scopes import Role
from privacy_service.work import Work


@click.group()
def admin() -> None:
    """Staff accounts: create, list, disable, reset a second factor."""


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
        with identity_console() as console, database_errors(), console.workplace.open() as work:
            created = service.create_staff(
                work, credentials=console.credentials, email=email, password=password, roles=[Role(role)]
            )
    except ValidationError as error:
        fail(validation_message(error), exit_code=EXIT_USAGE)
    except DomainError as error:
        fail(error.detail, exit_code=EXIT_USAGE if error.status < 500 else EXIT_FAILURE)
    assert created.enrolment is not None
    if as_json:
        answer = {
            "id": created.user_id,
            "email": email,
            "otpauth_uri": created.enrolment.otpauth_uri,
            "recovery_codes": created.recovery_codes,
        }
        click.echo(json.dumps(answer))
        return
    click.echo(f"created {role} {created.user_id}")
    click.echo(f"TOTP enrolment (load it into an authenticator app): {created.enrolment.otpauth_uri}")
    click.echo("recovery codes (shown once): " + " ".join(created.recovery_codes))


@admin.command("list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print [{id, email, roles, mfa_enrolled, created_at, disabled_at}] as JSON.",
)
def list_admins(as_json: bool) -> None:
    """List staff accounts: id, email (decrypted for this terminal only), roles, 2FA, disabled."""
    with identity_console() as console, database_errors(), console.workplace.open() as work:
        listed = service.list_staff(work)
    if as_json:
        rows = [
            {
                "id": account.user_id,
                "email": account.email,
                "roles": [str(role) for role in account.roles],
                "mfa_enrolled": account.mfa_enrolled,
                "created_at": account.created_at.isoformat(),
                "disabled_at": account.disabled_at.isoformat() if account.disabled_at else None,
            }
            for account in listed
        ]
        click.echo(json.dumps(rows))
        return
    if not listed:
        click.echo("no staff accounts: create one with `privacy-service admin create --email E`")
        return
    width = max(len(account.email or "(erased)") for account in listed)
    roles_width = max(5, *(len(",".join(account.roles)) for account in listed))
    click.echo(f"{'id':<26}  {'email':<{width}}  {'roles':<{roles_width}}  2fa  {'created':<10}  disabled")
    for account in listed:
        roles = ",".join(account.roles)
        created = account.created_at.date().isoformat()
        disabled = account.disabled_at.date().isoformat() if account.disabled_at else "-"
        click.echo(
            f"{account.user_id:<26}  {account.email or '(erased)':<{width}}  {roles:<{roles_width}}  "
            f"{'yes' if account.mfa_enrolled else 'no':<3}  {created:<10}  {disabled}"
        )


_email_option = click.option("--email", default=None, help="The staff member's email address.")
_id_option = click.option("--id", "user_id", default=None, help="The staff account's id (see `admin list`).")


@admin.command("disable")
@_email_option
@_id_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print {id, disabled, changed, sessions_revoked} as JSON."
)
def disable_admin(email: str | None, user_id: str | None, as_json: bool) -> None:
    """End a staff account's signing in and revoke its sessions; its audit trail stays attributable.

    A login of a disabled account is refused exactly as a wrong password is.
    """
    with _staff_member(email=email, user_id=user_id) as (_console, work, user):
        ended = service.disable_staff(work, user=user)
        account_id = user.id
    if as_json:
        answer = {
            "id": account_id,
            "disabled": True,
            "changed": ended is not None,
            "sessions_revoked": ended or 0,
        }
        click.echo(json.dumps(answer))
    elif ended is None:
        click.echo(f"staff account {account_id} was already disabled")
    else:
        click.echo(f"disabled staff account {account_id}; {ended} sessions revoked")


@admin.command("reset-mfa")
@_email_option
@_id_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print {id, otpauth_uri, recovery_codes, sessions_revoked} as JSON.",
)
def reset_admin_mfa(email: str | None, user_id: str | None, as_json: bool) -> None:
    """Replace a staff member's TOTP factor and recovery codes (a lost phone), revoking their sessions.

    Prints the new otpauth:// URI and recovery codes once, as `admin create`
    does: staff must have a second factor, so the account is never left without.
    """
    with _staff_member(email=email, user_id=user_id) as (console, work, user):
        reset = service.reset_staff_mfa(work, credentials=console.credentials, user=user)
        account_id = user.id
    if as_json:
        answer = {
            "id": account_id,
            "otpauth_uri": reset.enrolment.otpauth_uri,
            "recovery_codes": reset.recovery_codes,
            "sessions_revoked": reset.sessions_revoked,
        }
        click.echo(json.dumps(answer))
        return
    click.echo(f"reset the second factor of {account_id}; {reset.sessions_revoked} sessions revoked")
    click.echo(f"TOTP enrolment (load it into an authenticator app): {reset.enrolment.otpauth_uri}")
    click.echo("recovery codes (shown once): " + " ".join(reset.recovery_codes))


@contextmanager
def _staff_member(*, email: str | None, user_id: str | None) -> Iterator[tuple[Console, Work, User]]:
    """One unit of work on the staff account named by --email or --id (exactly one of them)."""
    if (email is None) == (user_id is None):
        fail("name the staff account with --email or --id (one of them)", exit_code=EXIT_USAGE)
    try:
        with identity_console() as console, database_errors(), console.workplace.open() as work:
            user = service.find_staff(
                session=work.session, emails=console.credentials.emails, user_id=user_id, email=email
            )
            yield console, work, user
    except DomainError as error:
        fail(error.detail)
