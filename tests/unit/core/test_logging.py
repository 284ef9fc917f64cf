from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from privacy_service.core.logging import (
    REDACTED,
    JsonFormatter,
    install_log_filters,
    redact_text,
    request_id_var,
)

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_log_filters(handler)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login failed for alice.smith+shop@example.co.uk", "alice.smith+shop@example.co.uk"),
        ("Authorization: Bearer abc.def-ghi_123", "abc.def-ghi_123"),
        ("authorization: basic c2hvcDpzZWNyZXQ=", "c2hvcDpzZWNyZXQ="),
        (f"token was {JWT}", JWT),
        ("password=hunter2hunter2 user=7", "hunter2hunter2"),
        ('{"password": "correct horse battery", "id": 1}', "correct horse battery"),
        ("client_secret=s3cr3t&grant_type=client_credentials", "s3cr3t"),
        ("refresh_token: rt_8f7a6b5c", "rt_8f7a6b5c"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw stored", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ],
)
def test_secrets_and_personal_data_are_scrubbed_from_messages(text: str, secret: str) -> None:
    scrubbed = redact_text(text)
    assert secret not in scrubbed
    assert REDACTED in scrubbed


def test_ordinary_text_is_left_alone() -> None:
    text = "delivered task 01hx to system crm in 120 ms (status 200)"
    assert redact_text(text) == text


def test_a_logged_record_carries_no_secret_in_message_arguments_or_extras(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.info(
        "login attempt by %s with header %s",
        "bob@example.org",
        "Bearer tok_123456",
        extra={
            "new_password": "Tr0ub4dor&3",
            "headers": {"authorization": "Basic Zm9vOmJhcg==", "accept": "application/json"},
            "email": "bob@example.org",
            "status_code": 401,
            "ip": "203.0.113.9",
        },
    )
    raw = stream.getvalue()
    for secret in ("bob@example.org", "tok_123456", "Tr0ub4dor&3", "Zm9vOmJhcg==", "203.0.113.9"):
        assert secret not in raw
    (entry,) = lines(stream)
    assert entry["status_code"] == 401  # a field that merely ends in "code" is not a secret
    assert entry["headers"] == {"authorization": REDACTED, "accept": "application/json"}


def test_exception_tracebacks_are_scrubbed(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError("duplicate key (email)=(carol@example.net)")
    except ValueError:
        logger.exception("insert failed")
    (entry,) = lines(stream)
    assert "ValueError" in str(entry["exception"])
    assert "carol@example.net" not in stream.getvalue()


def test_every_line_carries_the_current_request_id(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    token = request_id_var.set("req-42")
    try:
        logger.info("inside a request")
    finally:
        request_id_var.reset(token)
    logger.info("outside a request")
    inside, outside = lines(stream)
    assert inside["request_id"] == "req-42"
    assert outside["request_id"] is None
    assert inside["level"] == "info"
    assert inside["logger"] == "tests.redaction"
