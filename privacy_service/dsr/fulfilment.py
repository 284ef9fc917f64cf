"""``Fulfilment``: how this process carries out data subject requests, built once from the settings.

It holds the policies (loaded and validated once: jurisdictions, deadlines,
retention and the systems that take each request), the connector that
delivers tasks and the bounds of delivery (retries, timeout, concurrency, the
callback address), the lifetime of an export bundle, how recent a customer's
login must be to file, the erasure journal and the keyed digests of erased
subjects, the notice templates, and ``new_tasks``, which wakes this process's worker once a request
commits. Every request and worker thread shares it; what changes per unit of
work (the session, the clock, the keys) is in ``work.Work``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from privacy_service.connectors import Connector
from privacy_service.core.config import Settings
from privacy_service.crypto import BlindIndex
from privacy_service.documents import SubjectTexts
from privacy_service.keys.service import Keyring
from privacy_service.policy import Policies

# The purpose of the keyed digest that erasure records keep of a subject id (never the id itself).
ERASED_SUBJECT_PURPOSE = "erased-subject"

# Where the service is reached when PRIVACY_PUBLIC_URL is unset and nothing else says (serve sets it).
FALLBACK_PUBLIC_URL = "http://127.0.0.1:8000"


class NewTasks:
    """Tells this process's worker that a committed request made tasks deliverable.

    A request filed (or approved) here asks, through ``Work.after_commit``, for
    ``notify`` once it has committed; the worker of ``serve`` listens, so the
    fan-out starts at once rather than at its next poll. Requests filed by
    other processes are found by that poll.
    """

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def listen(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()


@dataclass(frozen=True)
class Fulfilment:
    policies: Policies
    connector: Connector
    emails: BlindIndex
    erased_subjects: BlindIndex
    public_url: str
    retry_min: timedelta
    retry_max: timedelta
    default_timeout_seconds: float
    export_lifetime: timedelta
    recent_login: timedelta
    delivery_concurrency: int
    erasure_journal: Path
    texts: SubjectTexts  # what the subject is told, in their language (notices, the export's summary)
    new_tasks: NewTasks = field(default_factory=NewTasks)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        policies: Policies,
        connector: Connector,
        keyring: Keyring,
        emails: BlindIndex,
    ) -> Fulfilment:
        return cls(
            policies=policies,
            connector=connector,
            emails=emails,
            erased_subjects=erased_subject_index(keyring),
            public_url=settings.public_url or FALLBACK_PUBLIC_URL,
            retry_min=timedelta(seconds=settings.delivery_retry_min_seconds),
            retry_max=timedelta(seconds=settings.delivery_retry_max_seconds),
            default_timeout_seconds=settings.delivery_timeout_seconds,
            export_lifetime=timedelta(days=settings.dsr_export_days),
            recent_login=timedelta(minutes=settings.dsr_recent_login_minutes),
            delivery_concurrency=settings.delivery_concurrency,
            erasure_journal=settings.effective_erasure_journal_file,
            texts=SubjectTexts.load(settings.effective_notices_dir),
        )

    def callback_url(self, task_id: str) -> str:
        return f"{self.public_url}/v1/dsr/callbacks/{task_id}"


def erased_subject_index(keyring: Keyring) -> BlindIndex:
    """Keyed digests of erased subjects' ids, under the blind index key with a purpose of their own."""
    return BlindIndex(key=keyring.provider.blind_index_key(), purpose=ERASED_SUBJECT_PURPOSE)
