"""``Work``: one unit of work, the one context a service is handed; ``Workplace`` opens it at an edge.

A unit of work is one database transaction with what every change in it
needs: the clock it reads, the keyring that encrypts and opens subjects'
fields, and the id of the request it serves. It is opened only at the edges
(an HTTP request, a worker job, a CLI command, each documented phase of a
login) and commits once, when the edge's block ends: a change, its audit
event and its outbox rows land together or not at all. Services never commit.

Three things a service may ask of it, each at the line that needs it:

- ``insert_at_commit``: a row the unit of work writes as it commits (an audit
  event, a login's session), in the COMMIT's own round trip on PostgreSQL
  (``work.at_commit``);
- ``after_commit``: an action once the commit has succeeded (wake this
  process's deliveries for a request just filed);
- ``keep_when_refused``: commit what was written even though the unit of work
  ends in a refusal (a ``DomainError``): a wrong password's failure count and
  its audit event, a replayed refresh token's revoked family. Without it a
  refusal rolls everything back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from privacy_service.core.clock import Clock
from privacy_service.core.db import SessionFactory
from privacy_service.core.errors import DomainError
from privacy_service.core.logging import request_id_var
from privacy_service.keys.fields import SubjectFields
from privacy_service.keys.service import Keyring
from privacy_service.work.at_commit import InsertAtCommit, PendingRow, write

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Work:
    """One transaction, its clock, its keyring and the request it serves."""

    session: Session
    clock: Clock
    keyring: Keyring
    request_id: str | None = None
    _rows: list[PendingRow] = field(default_factory=list, init=False, repr=False)
    _after_commit: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)
    _keep_when_refused: bool = field(default=False, init=False, repr=False)

    def insert_at_commit(self, insert: InsertAtCommit, values: Mapping[str, Any]) -> None:
        """Write this row as the unit of work commits; it cannot be read back before."""
        self._rows.append(insert.bind(self.session.get_bind().dialect, values))

    def subject_fields(self, *, table: str, subject_id: str) -> SubjectFields:
        """``table``'s columns of ``subject_id``, encrypted and opened under that subject's data key."""
        key = self.keyring.for_subject(session=self.session, subject_id=subject_id)
        return SubjectFields(key=key, table=table, subject_id=subject_id)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the unit of work has committed (never if it rolls back)."""
        self._after_commit.append(action)

    def keep_when_refused(self) -> None:
        """Commit what this unit of work wrote even if it ends in a refusal (a ``DomainError``)."""
        self._keep_when_refused = True

    @property
    def kept_when_refused(self) -> bool:
        return self._keep_when_refused

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint: if the block raises, its changes and the rows it added for the commit are undone."""
        waiting = len(self._rows)
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            del self._rows[waiting:]
            raise

    def commit(self) -> None:
        """Write the rows waiting for the commit, commit, then run what waits for the commit.

        The edge that opened the unit of work calls this once, as its block
        ends; a test calls it to read back what a service wrote.
        """
        rows, self._rows = self._rows, []
        if rows:
            self.session.flush()
            connection = self.session.connection()
            # Inside an enclosing transaction (the suite's), committing releases a savepoint instead.
            write(connection, rows, commit=not connection.in_nested_transaction())
        self.session.commit()
        self._keep_when_refused = False
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            try:
                action()
            except Exception:
                # The change has committed: it must not be answered as a failure.
                log.exception("an action after a commit failed")

    def rollback(self) -> None:
        self._rows.clear()
        self._after_commit.clear()
        self._keep_when_refused = False
        self.session.rollback()


@dataclass(frozen=True)
class Workplace:
    """What an edge opens units of work with: the session factory, the clock and the keyring."""

    sessions: SessionFactory
    clock: Clock
    keyring: Keyring

    @contextmanager
    def open(self, *, request_id: str | None = None) -> Iterator[Work]:
        """One unit of work: it commits when the block ends, and rolls back when it raises.

        A ``DomainError`` rolls back too, unless the unit of work was told to
        ``keep_when_refused``; then it commits before the error propagates.
        ``request_id`` defaults to the HTTP request being served, if any.
        """
        with self.sessions() as session:
            work = Work(
                session=session,
                clock=self.clock,
                keyring=self.keyring,
                request_id=request_id if request_id is not None else request_id_var.get(),
            )
            try:
                yield work
            except DomainError:
                if work.kept_when_refused:
                    work.commit()
                else:
                    work.rollback()
                raise
            except BaseException:
                work.rollback()
                raise
            work.commit()
