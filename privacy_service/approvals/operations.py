"""An operation of the shop's, and its digest: what an approval is bound to.

The digest is ``sha256:`` and the hex SHA-256 of the operation's RFC 8785
canonical JSON, ``{"action", "target": {"type", "id"}, "details"}``: the same
operation always has the same digest, whatever its keys' order or its numbers'
spelling, and any change to the action, the target or a detail changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785

DIGEST_PREFIX = "sha256:"


class NoCanonicalForm(ValueError):
    """A value RFC 8785 cannot encode (an integer beyond ±2^53, a non-finite number): it has no digest."""


def canonical_json(value: Any) -> bytes:
    """``value`` in RFC 8785 canonical JSON; ``NoCanonicalForm`` when it has none."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as error:
        raise NoCanonicalForm(f"no canonical form (RFC 8785): {error}") from None


@dataclass(frozen=True)
class Operation:
    """What the shop will do: an action of its own on a target, with the details that matter."""

    action: str
    target_type: str
    target_id: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": {"type": self.target_type, "id": self.target_id},
            "details": dict(self.details),
        }

    def digest(self) -> str:
        """Raises ``NoCanonicalForm`` for details that have no canonical JSON."""
        return DIGEST_PREFIX + hashlib.sha256(canonical_json(self.to_json())).hexdigest()
