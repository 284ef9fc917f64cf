"""Where the checks across a policy file's entries put what they find: errors and warnings, by location.

An error refuses the policies; a warning is a gap the shop should close (a
transfer without a safeguard, a category nobody describes) that does not stop
the service. Both are located in the file as a path of keys and indexes, which
the loader turns into a line.
"""

from __future__ import annotations

from typing import Protocol

from privacy_service.policy.yaml_source import Location


class Findings(Protocol):
    def report(self, location: Location, message: str) -> None:
        """Record an error at ``location``."""

    def warn(self, location: Location, message: str) -> None:
        """Record a warning at ``location``."""
