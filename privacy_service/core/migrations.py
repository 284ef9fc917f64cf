"""Schema migrations with Alembic: locate the scripts, upgrade, and check the schema is current."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

import privacy_service
from privacy_service.core.db import Base


class SchemaOutOfDate(Exception):
    """The database schema is not at the revision this code needs."""

    def __init__(self, *, current: str | None, head: str | None) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"database schema is at revision {current or 'none (empty database)'}, "
            f"this version needs {head}; run `privacy-service migrate` first"
        )


def _locate(name: str) -> Path:
    """A top-level directory of the project, in a source checkout or bundled in the wheel."""
    package_dir = Path(privacy_service.__file__).resolve().parent
    for candidate in (package_dir.parent / name, package_dir / "_bundled" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ directory next to {package_dir}")


def all_models() -> MetaData:
    """Import every domain's ``models`` module and return the metadata that now holds all tables.

    Discovery rather than a hand-kept list, so a new domain's tables can never
    be missing from autogenerate or from the models-match-migrations test.
    """
    for module in pkgutil.walk_packages(privacy_service.__path__, prefix="privacy_service."):
        if module.name.rsplit(".", 1)[-1] == "models":
            importlib.import_module(module.name)
    return Base.metadata


def migrations_dir() -> Path:
    return _locate("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["engine"] = engine
    return config


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic logs a few lines at INFO every time it looks at a database ("Context impl SQLiteImpl.",
    one per revision run); the commands say in one line of their own what changed, so keep them out."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _quiet_alembic():
        command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with _quiet_alembic():
        command.downgrade(alembic_config(engine), revision)


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None for a database no migration has touched (empty)."""
    with _quiet_alembic(), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at the head revision."""
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        raise SchemaOutOfDate(current=current, head=head)
