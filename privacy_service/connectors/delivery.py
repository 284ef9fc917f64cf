"""What is handed to a downstream system and what comes back: plain data, no requests, no tables.

The DSR layer builds a ``Delivery`` from a task and turns the outcome back into
the task's state; a ``Connector`` only carries it. ``Failed.retryable`` says
whether sending the same delivery again may succeed:

- retryable: timeouts, network errors, HTTP 408, 425, 429 and 5xx; the system
  is busy or unreachable and may recover before the request's deadline;
- not retryable: any other 4xx, 3xx (redirects are never followed), an
  unexpected 2xx, and an answer that is not a valid completion; the system
  refuses the request or is broken in a way the same request cannot fix, and
  an officer should look at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeAlias


@dataclass(frozen=True)
class Delivery:
    """One webhook to one system; ``webhook_id`` is the same on every retry, so the system de-duplicates."""

    system: str
    url: str
    secret: str = field(repr=False)  # "whsec_<base64>", a Standard Webhooks key
    webhook_id: str
    payload: Mapping[str, Any] = field(repr=False)  # carries the subject's personal data
    timeout_seconds: float
    #: A task's system answers with a completion (or 202 and a callback); a notice system only takes the
    #: message, and any 2xx means it has it (``Accepted``).
    expects_answer: bool = True


@dataclass(frozen=True)
class Retained:
    """What a system keeps under a legal obligation; ``until`` is the ISO date or date-time it sent."""

    category: str
    reason: str
    until: str | None


@dataclass(frozen=True)
class Completed:
    """The system answered the request: what it holds (access) and what it keeps (erasure)."""

    data: dict[str, Any] = field(repr=False)
    retained: tuple[Retained, ...]


@dataclass(frozen=True)
class Accepted:
    """The system took the delivery: a request (HTTP 202) whose answer comes later, signed, to the callback
    URL, or a notice (any 2xx), which asks no answer."""


@dataclass(frozen=True)
class Failed:
    """The delivery did not succeed; ``error`` names what went wrong without personal data or secrets."""

    error: str
    retryable: bool


DeliveryOutcome: TypeAlias = Completed | Accepted | Failed


class Connector(Protocol):
    def deliver(self, delivery: Delivery, *, now: datetime) -> DeliveryOutcome:
        """Send ``delivery``, signed at ``now`` (the injected clock's time).

        Never raises for a failure of the system or the network: it returns ``Failed``.
        Safe to call from many threads at once.
        """
        ...
