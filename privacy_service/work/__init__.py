"""The unit of work: one transaction with its clock, keyring and request id, opened only at the edges.

``Work`` is what every service is handed (``unit.py``); ``Workplace`` is what
an edge opens one with. ``at_commit.py`` writes the rows a unit of work adds
for its commit, and ``pg_pipeline.py`` sends them with the COMMIT on PostgreSQL.
"""

from privacy_service.work.at_commit import InsertAtCommit
from privacy_service.work.unit import Work, Workplace

__all__ = ["InsertAtCommit", "Work", "Workplace"]
