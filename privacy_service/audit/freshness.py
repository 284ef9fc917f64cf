"""How far the trail's protection lags behind what was recorded: the sealer's backlog and the last checkpoint.

An event is tamper-evident only once it is sealed into the chain, and the
chain only once a signed checkpoint covers its head; both are the worker's
jobs. When the worker stops (or falls behind), events pile up unsealed and
the last checkpoint grows old, and nothing else says so: this is what
monitoring reads (``GET /metrics``). Read from the database, so the answer is
the same whichever process asks and however many workers run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_service.audit.models import AuditCheckpoint, AuditEvent


@dataclass(frozen=True, slots=True)
class TrailFreshness:
    """The unsealed backlog (how many, since when) and when the last checkpoint was signed.

    ``oldest_unsealed_at`` is None when every event is sealed; ``last_checkpoint_at``
    when no checkpoint was ever written.
    """

    unsealed_events: int
    oldest_unsealed_at: datetime | None
    last_checkpoint_at: datetime | None


def trail_freshness(*, session: Session) -> TrailFreshness:
    """Two small queries: the unsealed events (``seq`` NULL, found through its unique index) and the
    newest checkpoint (by its primary key)."""
    unsealed, oldest = session.execute(
        select(func.count(), func.min(AuditEvent.at)).where(AuditEvent.seq.is_(None))
    ).one()
    last_at = session.scalar(select(AuditCheckpoint.at).order_by(AuditCheckpoint.number.desc()).limit(1))
    return TrailFreshness(unsealed_events=unsealed, oldest_unsealed_at=oldest, last_checkpoint_at=last_at)
