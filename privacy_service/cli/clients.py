"""``privacy-service clients``: shop backends (OAuth clients) from the operator's console.

A client's secret is shown once, when it is created or rotated, and stored
only as a keyed digest. Every change is an audit event with the service as
its actor.
"""

from __future__ import annotations

import json

import click

from privacy_service.cli.bootstrap import EXIT_USAGE, database_errors, fail, identity_console
from privacy_service.core.errors import DomainError
from privacy_service.identity import clients as service
from privacy_service.identity.scopes import parse_scopes


@click.group("clients")
def clients_group() -> None:
    """Shop backends (OAuth clients): create, list, disable, rotate a secret."""


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
    with identity_console() as console, database_errors(), console.workplace.open() as work:
        registered = service.register_client(
            work, digests=console.credentials.digests, name=name, scopes=granted
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


@clients_group.command("list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print [{client_id, name, scopes, created_at, disabled_at}] as JSON.",
)
def list_clients(as_json: bool) -> None:
    """List every client: id, name, scopes, when it was created and, if so, disabled. Never a secret."""
    with identity_console() as console, database_errors(), console.workplace.open() as work:
        listed = service.list_clients(session=work.session)
    if as_json:
        click.echo(json.dumps([client.to_json() for client in listed]))
        return
    if not listed:
        click.echo('no clients: register one with `privacy-service clients create --name N --scopes "..."`')
        return
    name_width = max(4, *(len(client.name) for client in listed))
    click.echo(f"{'client_id':<26}  {'name':<{name_width}}  {'created':<10}  {'disabled':<10}  scopes")
    for client in listed:
        created = client.created_at.date().isoformat()
        disabled = client.disabled_at.date().isoformat() if client.disabled_at else "-"
        click.echo(
            f"{client.client_id:<26}  {client.name:<{name_width}}  {created:<10}  "
            f"{disabled:<10}  {' '.join(client.scopes)}"
        )


@clients_group.command("disable")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print {client_id, disabled, changed} as JSON.")
def disable_client(client_id: str, as_json: bool) -> None:
    """Disable a client: its secret and every token it holds are refused from now on. There is no undo."""
    try:
        with identity_console() as console, database_errors(), console.workplace.open() as work:
            changed = service.disable_client(work, client_id=client_id)
    except DomainError as error:
        fail(error.detail)
    if as_json:
        click.echo(json.dumps({"client_id": client_id, "disabled": True, "changed": changed}))
    elif changed:
        click.echo(
            f"disabled client {client_id}: its secret is refused now, and its tokens within "
            f"{service.ENABLED_CLIENT_SECONDS:g} s"
        )
    else:
        click.echo(f"client {client_id} was already disabled")


@clients_group.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print {client_id, client_secret} as JSON.")
def rotate_secret(client_id: str, as_json: bool) -> None:
    """Give a client a new secret, printed once; the old one is refused from now on.

    Tokens already issued stay valid until they expire; for a leaked secret,
    disable the client and create a new one.
    """
    try:
        with identity_console() as console, database_errors(), console.workplace.open() as work:
            secret = service.rotate_client_secret(
                work, digests=console.credentials.digests, client_id=client_id
            )
    except DomainError as error:
        fail(error.detail)
    if as_json:
        click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
        return
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret (shown once; the old one no longer works): {secret}")
