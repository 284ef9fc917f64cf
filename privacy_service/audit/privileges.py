"""Least privilege on PostgreSQL: the service's own database role, and what it may do to the trail.

Two roles. The **owner** runs ``privacy-service migrate`` (and ``privacy-service
audit archive``): it owns every table and alone may alter or drop them, disable
the append-only triggers, or delete an archived prefix of the chain. The
**service role**, ``SERVICE_ROLE``, is what the API and the worker act as. Migration
0006 creates it (``NOLOGIN``, if absent: roles are cluster-wide) and grants it
ordinary read/write access to every table, but on the audit trail only what
recording, sealing and checkpointing need: no ``DELETE`` or ``TRUNCATE``, and
``UPDATE`` only of the columns the sealer fills in (the append-only trigger
still refuses any change of a sealed value).

The role has no password and cannot log in. An operator either gives it one,
as a superuser or a role with ``CREATEROLE``::

    ALTER ROLE privacy_service_app LOGIN PASSWORD '...';

or, better, lets a login role of their own act as it::

    CREATE ROLE shop_privacy LOGIN PASSWORD '...' IN ROLE privacy_service_app;

and points ``PRIVACY_DATABASE_URL`` of the API and workers at that login, while
migrations keep running with the owner's. The name is fixed: migrations
already applied grant to it, so changing it here would need a new migration.
"""

from __future__ import annotations

from typing import Final

SERVICE_ROLE: Final = "privacy_service_app"

#: Per audit table, the privileges the service role keeps (table-wide, then per column).
AUDIT_TABLE_PRIVILEGES: Final[dict[str, tuple[str, ...]]] = {
    "audit_events": ("SELECT", "INSERT", "UPDATE (seq, prev_hash, hash, sealed_at)"),
    "audit_checkpoints": ("SELECT", "INSERT"),
    "audit_signing_keys": ("SELECT", "INSERT", "UPDATE (retired_at)"),
    # Archiving deletes a prefix of the chain: the owner's work alone, so the service can read an
    # archive record but never write the one that would let a delete through the trigger.
    "audit_archives": ("SELECT",),
}

#: Tables the service reads but never changes.
READ_ONLY_TABLES: Final = ("alembic_version",)
