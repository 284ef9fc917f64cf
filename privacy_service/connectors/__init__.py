"""Downstream systems: how a delivery reaches the shop's order database, invoicing or mailer.

A ``Connector`` takes a ``Delivery`` (plain data: URL, secret, webhook id,
payload) and returns ``Completed``, ``Accepted`` or ``Failed``; it knows
nothing of requests or tables. ``WebhookConnector`` speaks Standard Webhooks
over HTTP; ``InMemoryConnector`` answers from a script, for tests. Callbacks
are checked with ``verify_signature`` and read with ``parse_completion``.
"""

from privacy_service.connectors.completion import callback_task_id, parse_completion
from privacy_service.connectors.delivery import (
    Accepted,
    Completed,
    Connector,
    Delivery,
    DeliveryOutcome,
    Failed,
    Retained,
)
from privacy_service.connectors.errors import (
    ConnectorError,
    InvalidCompletion,
    InvalidSignature,
    InvalidWebhookSecret,
)
from privacy_service.connectors.memory import HandedDelivery, InMemoryConnector
from privacy_service.connectors.standard_webhooks import (
    is_webhook_secret,
    new_webhook_secret,
    verify_signature,
    webhook_headers,
)
from privacy_service.connectors.webhook import WebhookConnector

__all__ = [
    "Accepted",
    "Completed",
    "Connector",
    "ConnectorError",
    "Delivery",
    "DeliveryOutcome",
    "Failed",
    "HandedDelivery",
    "InMemoryConnector",
    "InvalidCompletion",
    "InvalidSignature",
    "InvalidWebhookSecret",
    "Retained",
    "WebhookConnector",
    "callback_task_id",
    "is_webhook_secret",
    "new_webhook_secret",
    "parse_completion",
    "verify_signature",
    "webhook_headers",
]
