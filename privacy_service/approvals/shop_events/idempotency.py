"""``Idempotency-Key``: a retried request gets the first answer instead of recording a second event.

The key is claimed by inserting its row, with the answer the request is about
to give, in the request's own transaction: the event and its key commit
together or not at all. A concurrent request with the same key waits on the
primary key ``(client_id, key)`` until the first commits, then finds the row
and answers from it (``ON CONFLICT DO NOTHING``), so one key never makes two
events. The same key with another request is refused (``IdempotencyKeyReused``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, select

from privacy_service.approvals.shop_events.errors import IdempotencyKeyReused
from privacy_service.approvals.shop_events.models import IdempotencyKey
from privacy_service.core.db import run_core, upsert_insert
from privacy_service.work import Work


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The answer the first request with a key got."""

    status: int
    body: dict[str, Any]


def claim(
    work: Work, *, client_id: str, key: str, request_digest: str, status: int, body: Mapping[str, Any]
) -> StoredAnswer | None:
    """Claim ``key`` for this request, which will answer ``status`` and ``body``; None when claimed.

    When the key was used before, the answer stored then, or ``IdempotencyKeyReused``
    if that request differs from this one (``request_digest``).
    """
    insert = upsert_insert(work.session.get_bind().dialect.name, IdempotencyKey)
    statement = (
        insert.values(
            client_id=client_id,
            key=key,
            request_digest=request_digest,
            response_status=status,
            response_body=json.dumps(dict(body), sort_keys=True, separators=(",", ":")),
            created_at=work.clock.now(),
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    # Twice at most: a row the purge removed between the conflict and the read is claimed anew.
    for _attempt in range(2):
        if run_core(work.session, statement).first() is not None:
            return None
        stored = work.session.execute(
            select(
                IdempotencyKey.request_digest, IdempotencyKey.response_status, IdempotencyKey.response_body
            ).where(IdempotencyKey.client_id == client_id, IdempotencyKey.key == key)
        ).first()
        if stored is not None:
            if stored.request_digest != request_digest:
                raise IdempotencyKeyReused(
                    "Send a new Idempotency-Key for a new request; a retry must repeat the first one exactly."
                )
            answer: dict[str, Any] = json.loads(stored.response_body)
            return StoredAnswer(status=stored.response_status, body=answer)
    raise AssertionError("an idempotency key was neither claimed nor found twice")  # pragma: no cover


def purge_expired(work: Work, *, retention: timedelta) -> int:
    """Delete the keys claimed longer than ``retention`` ago; return how many. For the worker."""
    result = work.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at <= work.clock.now() - retention)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount
