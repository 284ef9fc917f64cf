"""Structured JSON logs, one object per line, with the request id and no secrets or personal data.

The redaction filter is a last line of defence: code should never log
personal data in the first place, but a library or an exception message might.
It scrubs, in every message, argument and extra field: email addresses,
bearer and basic credentials, JWTs, ``whsec_`` webhook secrets, and the
values of keys that name a secret (password, token, secret, authorization,
cookie, code...).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REDACTED = "[redacted]"

# A field is secret or personal when one of its words is one of these (``new_password``,
# ``client_secret``, ``user_email``), or when it is one of the exact names below.
_SENSITIVE_WORDS = frozenset(
    {
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "email",
        "mfa",
        "otp",
        "passphrase",
        "passwd",
        "password",
        "pepper",
        "phone",
        "secret",
        "token",
        "tokens",
    }
)
_SENSITIVE_KEYS = frozenset({"api_key", "code", "codes", "ip", "recovery_codes", "user_agent"})


def is_sensitive_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SENSITIVE_KEYS or not _SENSITIVE_WORDS.isdisjoint(re.split(r"[_\-.]", lowered))


_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values and bare bearer/basic credentials.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # JWTs (header.payload.signature, base64url).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # Standard Webhooks secrets.
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), REDACTED),
    # key=value / "key": "value" pairs whose key names a secret.
    (
        re.compile(
            r"(?i)(\"?\b(?:password|passwd|secret|token|access_token|refresh_token|client_secret|"
            r"authorization|api_key|mfa_token|code)\b\"?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # Email addresses.
    (re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), REDACTED),
)

# Attributes every LogRecord has; anything else came in through `extra=`.
# ``color_message`` is uvicorn's ANSI-coloured duplicate of the message.
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    """Scrub one extra field: secret-named keys lose their value, strings lose what looks personal."""
    if is_sensitive_key(key):
        return REDACTED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record in place so no handler ever sees the sensitive values."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the log line
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRIBUTES:
                record.__dict__[key] = redact_value(key, value)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def install_log_filters(handler: logging.Handler) -> None:
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Send every log record, ours and our libraries', through one redacting JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    install_log_filters(handler)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        library_logger = logging.getLogger(name)
        library_logger.handlers[:] = []
        library_logger.propagate = True
    # Our middleware writes the access log itself, with the request id; uvicorn's would lack it.
    logging.getLogger("uvicorn.access").disabled = True
