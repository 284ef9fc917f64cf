"""A scratch PostgreSQL database for one benchmark run: created empty, dropped afterwards.

The benchmarks import it as ``scratch`` (Python puts the running script's
folder, ``benchmarks/``, first on the path). The database is created and
dropped through an AUTOCOMMIT connection on the admin URL, since PostgreSQL
runs neither statement inside a transaction; the drop forces out connections a
crashed run left behind.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(admin_url: str, *, prefix: str = "privacy_bench_") -> Iterator[str]:
    """The URL of a new ``<prefix><random>`` database on the admin URL's server, dropped afterwards."""
    name = f"{prefix}{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
