"""Standard Webhooks (standardwebhooks.com): the secret format, the three headers and their signature.

Signing goes through the reference library, so what we send is what every
Standard Webhooks consumer verifies. Verification reads the headers itself:
the time it checks against is the injected clock's, not the wall clock the
reference library reads, and each way a callback can fail raises
``InvalidSignature`` with its own detail.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from standardwebhooks import Webhook

from privacy_service.connectors.errors import InvalidSignature, InvalidWebhookSecret
from privacy_service.crypto import equal_in_constant_time

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MIN_SECRET_BYTES = 24  # the specification's lower bound for a key
NEW_SECRET_BYTES = 32
MAX_WEBHOOK_ID_LENGTH = 255  # the DSR layer records ids to refuse replays; bound what it stores
DEFAULT_TOLERANCE = timedelta(minutes=5)  # the specification's (and the reference library's) window

WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"

_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def new_webhook_secret() -> str:
    """A fresh key: ``whsec_`` and base64 of 32 random bytes."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(NEW_SECRET_BYTES)).decode("ascii")


def is_webhook_secret(value: str) -> bool:
    """Whether ``value`` is ``whsec_`` followed by standard base64 of at least 24 bytes."""
    try:
        _secret_key(value)
    except InvalidWebhookSecret:
        return False
    return True


def webhook_headers(*, secret: str, webhook_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers for ``body``.

    Raises ``InvalidWebhookSecret`` if ``secret`` is not a Standard Webhooks key.
    """
    moment = _utc(timestamp)
    signature = _webhook(secret).sign(webhook_id, moment, body.decode("utf-8"))
    return {
        WEBHOOK_ID: webhook_id,
        WEBHOOK_TIMESTAMP: str(math.floor(moment.timestamp())),
        WEBHOOK_SIGNATURE: signature,
    }


def verify_signature(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> str:
    """Check a signed request against ``secret`` at the injected ``now``; return its ``webhook-id``.

    Raises ``InvalidSignature`` when a header is missing or malformed, the
    timestamp lies more than ``tolerance`` from ``now``, or no ``v1`` signature
    matches; ``InvalidWebhookSecret`` when ``secret`` itself is unusable. The
    caller refuses replays by recording the id it returns.
    """
    found = {name.lower(): value for name, value in headers.items()}
    webhook_id = _required_header(found, WEBHOOK_ID)
    timestamp = _required_header(found, WEBHOOK_TIMESTAMP)
    signature_header = _required_header(found, WEBHOOK_SIGNATURE)
    if len(webhook_id) > MAX_WEBHOOK_ID_LENGTH:
        raise InvalidSignature(f"the {WEBHOOK_ID} header is longer than {MAX_WEBHOOK_ID_LENGTH} characters")
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise InvalidSignature(f"the {WEBHOOK_TIMESTAMP} header is not a Unix time in seconds")
    signatures = _v1_signatures(signature_header)
    if not signatures:
        raise InvalidSignature(f"the {WEBHOOK_SIGNATURE} header carries no v1 signature")

    sent_at = int(timestamp)
    checked_at = math.floor(_utc(now).timestamp())
    window = math.floor(tolerance.total_seconds())
    if sent_at < checked_at - window:
        raise InvalidSignature(f"the {WEBHOOK_TIMESTAMP} is more than {window} s before the service's clock")
    if sent_at > checked_at + window:
        raise InvalidSignature(f"the {WEBHOOK_TIMESTAMP} is more than {window} s after the service's clock")

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature("the body is not UTF-8, so no signature can match it") from None
    signed = _webhook(secret).sign(webhook_id, datetime.fromtimestamp(sent_at, UTC), text)
    expected = base64.b64decode(signed.partition(",")[2])
    # Compare against every entry, not only until the first match: the time taken says nothing.
    matched = False
    for candidate in signatures:
        matched |= equal_in_constant_time(expected, candidate)
    if not matched:
        raise InvalidSignature(f"no v1 signature in the {WEBHOOK_SIGNATURE} header matches the body")
    return webhook_id


def _required_header(found: Mapping[str, str], name: str) -> str:
    value = found.get(name, "").strip()
    if not value:
        raise InvalidSignature(f"the {name} header is missing")
    return value


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` entries of a space-separated ``webhook-signature``; other schemes are skipped."""
    signatures = []
    for entry in header.split(" "):
        if not entry:
            continue
        version, comma, encoded = entry.partition(",")
        if not comma or not version or not encoded:
            raise InvalidSignature(f"the {WEBHOOK_SIGNATURE} header is malformed")
        if version != "v1":
            continue
        try:
            signatures.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            raise InvalidSignature(f"the {WEBHOOK_SIGNATURE} header is malformed") from None
    return signatures


def _secret_key(secret: str) -> bytes:
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise InvalidWebhookSecret(f"the secret does not start with {WEBHOOK_SECRET_PREFIX}")
    encoded = secret.removeprefix(WEBHOOK_SECRET_PREFIX)
    try:
        # The reference library accepts unpadded base64; so do we.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise InvalidWebhookSecret("the secret is not standard base64 after its prefix") from None
    if len(key) < MIN_SECRET_BYTES:
        raise InvalidWebhookSecret(f"the secret is shorter than {MIN_SECRET_BYTES} bytes")
    return key


def _webhook(secret: str) -> Webhook:
    _secret_key(secret)
    return Webhook(secret)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a webhook timestamp must be timezone-aware")
    return moment.astimezone(UTC)
