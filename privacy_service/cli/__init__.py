"""The ``privacy-service`` command.

serve, worker, migrate, openapi      running the service       (cli/processes.py)
keys status|rotate|rotate-signing    keys                      (cli/keys.py)
admin create|list|disable|reset-mfa  staff accounts            (cli/staff.py)
clients create|list|disable|rotate-secret
                                     shop backends             (cli/clients.py)
users import                         customer accounts         (cli/accounts.py)
audit verify                         the audit trail           (cli/audit.py)
policies check|explain|ropa          policies as code          (cli/policies.py)
erasures replay                      erasure after a restore   (cli/erasures.py)
"""

from __future__ import annotations

import click

import privacy_service
from privacy_service.cli import accounts, audit, clients, erasures, keys, policies, processes, staff


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(privacy_service.__version__, prog_name="privacy-service")
def cli() -> None:
    """privacy-service: login, encrypted personal data, audit trail and data subject requests for shops."""


for command in (
    processes.serve,
    processes.worker,
    processes.migrate,
    processes.openapi,
    keys.keys,
    staff.admin,
    clients.clients_group,
    accounts.users_group,
    audit.audit,
    policies.policies,
    erasures.erasures,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="privacy-service")
