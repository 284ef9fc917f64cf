"""Standard Webhooks: our signatures verify with the reference library, and every bad callback is refused."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from privacy_service.connectors import (
    InvalidSignature,
    InvalidWebhookSecret,
    is_webhook_secret,
    new_webhook_secret,
    verify_signature,
    webhook_headers,
)
from tests.unit.connectors.deliveries import NOW, SUBJECT_EMAIL, access_payload

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
BODY = json.dumps(access_payload(), separators=(",", ":"), ensure_ascii=False).encode()


def signed_by_reference(
    *, body: bytes = BODY, at: datetime = NOW, secret: str = SECRET, webhook_id: str = "msg_1"
) -> dict[str, str]:
    """Headers as any Standard Webhooks sender makes them, with the reference library."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body.decode()),
    }


def refusal(headers: dict[str, str], *, body: bytes = BODY, now: datetime = NOW) -> str:
    with pytest.raises(InvalidSignature) as refused:
        verify_signature(secret=SECRET, headers=headers, body=body, now=now)
    assert (refused.value.status, refused.value.code) == (401, "invalid_signature")
    return refused.value.detail


def test_our_signature_verifies_with_the_reference_library() -> None:
    now = datetime.now(UTC)  # the reference library checks against the wall clock
    headers = webhook_headers(secret=SECRET, webhook_id="msg_task-1", timestamp=now, body=BODY)
    assert Webhook(SECRET).verify(BODY, headers) == access_payload()
    assert headers["webhook-timestamp"] == str(math.floor(now.timestamp()))


def test_a_reference_signature_verifies_at_the_injected_time_and_yields_its_id() -> None:
    headers = signed_by_reference(webhook_id="msg_callback-7")
    assert verify_signature(secret=SECRET, headers=headers, body=BODY, now=NOW) == "msg_callback-7"


def test_header_names_are_matched_whatever_their_case() -> None:
    headers = {name.title(): value for name, value in signed_by_reference().items()}
    assert verify_signature(secret=SECRET, headers=headers, body=BODY, now=NOW) == "msg_1"


def test_one_matching_signature_among_several_is_enough_during_a_key_rotation() -> None:
    headers = signed_by_reference()
    old_key = Webhook(new_webhook_secret()).sign("msg_1", NOW, BODY.decode())
    headers["webhook-signature"] = f"v1a,c29tZXRoaW5n {old_key}  {headers['webhook-signature']}"
    assert verify_signature(secret=SECRET, headers=headers, body=BODY, now=NOW) == "msg_1"


@pytest.mark.parametrize("skew", [timedelta(minutes=-5), timedelta(minutes=5)])
def test_a_timestamp_at_the_edge_of_the_tolerance_is_accepted(skew: timedelta) -> None:
    verify_signature(secret=SECRET, headers=signed_by_reference(at=NOW + skew), body=BODY, now=NOW)


def test_an_altered_body_is_refused() -> None:
    forged = BODY.replace(b"req-1", b"req-2")
    assert "no v1 signature" in refusal(signed_by_reference(), body=forged)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    headers = signed_by_reference(secret=new_webhook_secret())
    assert "no v1 signature" in refusal(headers)


def test_a_forged_signature_is_refused() -> None:
    headers = signed_by_reference()
    headers["webhook-signature"] = "v1," + base64.b64encode(b"\0" * 32).decode()
    assert "no v1 signature" in refusal(headers)


def test_a_timestamp_too_old_for_the_injected_clock_is_refused() -> None:
    detail = refusal(signed_by_reference(at=NOW - timedelta(minutes=5, seconds=1)))
    assert "before the service's clock" in detail


def test_a_timestamp_too_new_for_the_injected_clock_is_refused() -> None:
    detail = refusal(signed_by_reference(at=NOW + timedelta(minutes=5, seconds=1)))
    assert "after the service's clock" in detail


def test_the_tolerance_can_be_narrowed() -> None:
    headers = signed_by_reference(at=NOW - timedelta(seconds=61))
    with pytest.raises(InvalidSignature):
        verify_signature(secret=SECRET, headers=headers, body=BODY, now=NOW, tolerance=timedelta(minutes=1))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused_by_name(missing: str) -> None:
    headers = signed_by_reference()
    del headers[missing]
    assert refusal(headers) == f"the {missing} header is missing"


@pytest.mark.parametrize("signature", ["v1", "v1,", ",c2ln", "v1,not base64!", "garbage"])
def test_a_malformed_signature_header_is_refused(signature: str) -> None:
    headers = {**signed_by_reference(), "webhook-signature": signature}
    assert refusal(headers) == "the webhook-signature header is malformed"


def test_a_signature_header_without_a_v1_entry_is_refused() -> None:
    headers = {**signed_by_reference(), "webhook-signature": "v1a,c2lnbmF0dXJl"}
    assert refusal(headers) == "the webhook-signature header carries no v1 signature"


@pytest.mark.parametrize("timestamp", ["soon", "1768478400.5", "-1768478400", "1" * 13])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp: str) -> None:
    headers = {**signed_by_reference(), "webhook-timestamp": timestamp}
    assert refusal(headers) == "the webhook-timestamp header is not a Unix time in seconds"


def test_an_overlong_webhook_id_is_refused() -> None:
    assert "longer than 255" in refusal(signed_by_reference(webhook_id="m" * 256))


def test_a_body_that_is_not_utf8_is_refused() -> None:
    headers = signed_by_reference()
    assert "not UTF-8" in refusal(headers, body=b"\xff\xfe")


def test_refusals_never_repeat_what_was_sent() -> None:
    headers = signed_by_reference(at=NOW - timedelta(hours=1))
    headers["webhook-id"] = SUBJECT_EMAIL
    for detail in (refusal(headers), refusal({**headers, "webhook-signature": SUBJECT_EMAIL})):
        assert SUBJECT_EMAIL not in detail
        assert headers["webhook-timestamp"] not in detail


def test_a_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_signature(
            secret=SECRET, headers=signed_by_reference(), body=BODY, now=NOW.replace(tzinfo=None)
        )


def test_verifying_with_an_unusable_secret_raises_its_own_error() -> None:
    with pytest.raises(InvalidWebhookSecret):
        verify_signature(secret="whsec_short", headers=signed_by_reference(), body=BODY, now=NOW)


def test_a_new_secret_is_a_random_32_byte_key_the_reference_library_accepts() -> None:
    secrets = {new_webhook_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert is_webhook_secret(secret)
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
        headers = webhook_headers(secret=secret, webhook_id="msg_1", timestamp=datetime.now(UTC), body=BODY)
        Webhook(secret).verify(BODY, headers)


def test_an_unpadded_secret_of_24_bytes_is_a_webhook_secret() -> None:
    assert is_webhook_secret("whsec_" + base64.b64encode(bytes(25)).decode().rstrip("="))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "whsec_",
        "secret",
        base64.b64encode(bytes(32)).decode(),  # no prefix
        "whsec_" + base64.b64encode(bytes(23)).decode(),  # too short
        "whsec_" + base64.urlsafe_b64encode(b"\xfb" * 32).decode(),  # not standard base64
        "whsec_!!!!" + base64.b64encode(bytes(32)).decode(),
    ],
)
def test_anything_else_is_not_a_webhook_secret(value: str) -> None:
    assert not is_webhook_secret(value)
