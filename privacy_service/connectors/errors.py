"""Named failures of talking to downstream systems.

A downstream system's own failure (a timeout, a 503, a malformed answer) is not
an exception: ``Connector.deliver`` returns it as ``Failed``, to be stored as a
task's ``last_error``. These errors are for what the service checks itself: a
callback's signature and body, and the secrets it is given. Messages name
headers and fields, never their values: they are shown to officers and logged.
"""

from __future__ import annotations

from privacy_service.core.errors import DomainError


class ConnectorError(DomainError):
    """Root of the connectors' errors."""

    code = "connector_error"
    title = "Downstream system error"


class InvalidSignature(ConnectorError):
    """A callback's Standard Webhooks headers are missing, stale, malformed or signed with another key."""

    code = "invalid_signature"
    status = 401
    title = "The webhook signature is invalid"


class InvalidCompletion(ConnectorError):
    """A system's answer is not a completion as API.md "What downstream systems receive" defines it."""

    code = "invalid_completion"
    status = 422
    title = "The answer is not a valid completion"


class InvalidWebhookSecret(ConnectorError):
    """A secret is not a Standard Webhooks key: ``whsec_`` followed by base64 of at least 24 bytes."""

    code = "invalid_webhook_secret"
    status = 422
    title = "The secret is not a Standard Webhooks key"
