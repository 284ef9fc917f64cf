"""An in-memory connector for tests: outcomes scripted per system, every delivery recorded."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from privacy_service.connectors.delivery import Completed, Delivery, DeliveryOutcome

# An outcome, or a function of the delivery that returns one (to answer with what it was sent).
ScriptedOutcome = DeliveryOutcome | Callable[[Delivery], DeliveryOutcome]


@dataclass(frozen=True)
class HandedDelivery:
    """A delivery as the connector received it, with the time it was to be signed at."""

    delivery: Delivery
    now: datetime


class InMemoryConnector:
    """Answers from a script instead of the network; safe to share between threads.

    ``script(system, *outcomes)`` queues outcomes for a system, used one per
    delivery in order; the last one keeps answering once the others are used.
    A system with no script answers ``default`` (an empty completion unless
    told otherwise).
    """

    def __init__(self, *, default: ScriptedOutcome | None = None) -> None:
        self._default: ScriptedOutcome = default if default is not None else Completed(data={}, retained=())
        self._scripts: dict[str, deque[ScriptedOutcome]] = {}
        self._handed: list[HandedDelivery] = []
        self._lock = threading.Lock()

    def script(self, system: str, *outcomes: ScriptedOutcome) -> None:
        """Replace what ``system`` answers with ``outcomes``, in order, the last one repeating."""
        if not outcomes:
            raise ValueError("script at least one outcome")
        with self._lock:
            self._scripts[system] = deque(outcomes)

    def deliver(self, delivery: Delivery, *, now: datetime) -> DeliveryOutcome:
        with self._lock:
            self._handed.append(HandedDelivery(delivery=delivery, now=now))
            queue = self._scripts.get(delivery.system)
            if queue is None:
                outcome = self._default
            elif len(queue) > 1:
                outcome = queue.popleft()
            else:
                outcome = queue[0]
        return outcome(delivery) if callable(outcome) else outcome

    @property
    def handed(self) -> list[HandedDelivery]:
        """Every delivery handed over so far, oldest first, with its ``now``."""
        with self._lock:
            return list(self._handed)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery handed over so far, oldest first."""
        return [handed.delivery for handed in self.handed]

    def deliveries_to(self, system: str) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if delivery.system == system]
