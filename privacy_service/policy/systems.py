"""Downstream systems declared in ``policies/systems.yaml``.

The file names an environment variable for each secret rather than the
secret, so the policies can be committed and reviewed while the secrets stay
with the deployment. The loader reads the variable; nothing here prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from privacy_service.policy.request_types import SystemRequestType

#: The service's own name among the systems: its data is ``data/privacy-service.json`` in an export, so no
#: downstream system may take it (declared in the policies or registered through the API).
OWN_SYSTEM = "privacy-service"


@dataclass(frozen=True)
class SystemSpec:
    name: str
    url: str
    request_types: frozenset[SystemRequestType]
    categories: tuple[str, ...]
    secret: str = field(repr=False)
    timeout_seconds: float = 10.0
