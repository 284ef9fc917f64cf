"""Reading a database as someone holding a copy of its disk would: the SQLite files, every raw column.

The tests of what is stored at rest search these bytes for plaintext. Each also
looks for a value stored in plaintext by design (a positive control), which
proves the search would have found a personal value had one been there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from privacy_service.core import migrations
from privacy_service.core.config import Settings
from privacy_service.core.db import create_engine_for


@contextmanager
def migrated_sqlite_file(path: Path, settings: Settings) -> Iterator[Engine]:
    """An engine on a new, migrated SQLite database at ``path``; disposed afterwards."""
    engine = create_engine_for(settings, database_url=f"sqlite:///{path}")
    migrations.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass(frozen=True)
class SqliteFiles:
    """The bytes of a SQLite database on disk, before and after its write-ahead log is checkpointed."""

    wal: bytes  # the write-ahead log, where committed rows wait for the checkpoint
    live: bytes  # the main file and the write-ahead log, while a connection is open
    checkpointed: bytes  # the main file once the last connection has closed


def read_sqlite_files(engine: Engine, path: Path) -> SqliteFiles:
    """Read the files while a connection keeps the log in place, then dispose of the engine and read again.

    When the last connection closes, SQLite checkpoints the log into the main
    file, so the second read is the database as a backup or a stolen disk holds it.
    """
    with engine.connect():
        main, wal = path.read_bytes(), path.with_name(path.name + "-wal").read_bytes()
    engine.dispose()
    return SqliteFiles(wal=wal, live=main + wal, checkpointed=path.read_bytes())


def raw_table_bytes(session: Session, table: str) -> bytes:
    """Every value of every row of ``table``, read with SQL around the ORM, in every form it could show."""
    rows = session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 -- names from the schema or the test
    return b"\x00".join(_renderings(value) for row in rows for value in row)


def plaintexts_in(haystack: bytes, plaintexts: Iterable[str]) -> list[str]:
    """The plaintexts whose UTF-8 encoding occurs in ``haystack``: none, where nothing is stored in clear."""
    return [value for value in plaintexts if value.encode() in haystack]


def _renderings(value: Any) -> bytes:
    """Binary values as stored, decoded leniently as UTF-8 and as their repr; anything else as text."""
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        return b"\x00".join((raw, raw.decode("utf-8", errors="ignore").encode(), str(raw).encode()))
    if isinstance(value, datetime):
        return value.isoformat().encode()
    return str(value).encode()
