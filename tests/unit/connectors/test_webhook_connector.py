"""The real connector against a fake system over loopback HTTP: every way an answer can go."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from privacy_service.connectors import Accepted, Completed, Failed, Retained, WebhookConnector
from tests.support.downstream import Answer, FakeDownstream
from tests.unit.connectors.deliveries import NOW, SUBJECT_EMAIL, SUBJECT_NAME, access_payload, delivery_to

QUICK = 0.2  # seconds; short enough to keep the suite fast, long enough for loopback


def test_a_completed_answer_yields_the_systems_data_and_retained(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    downstream.answer_completed(
        data={"orders": [{"id": "o-1"}]},
        retained=[{"category": "invoices", "reason": "tax law", "until": "2036-01-15"}],
    )
    outcome = connector.deliver(delivery_to(downstream), now=NOW)
    assert outcome == Completed(
        data={"orders": [{"id": "o-1"}]},
        retained=(Retained(category="invoices", reason="tax law", until="2036-01-15"),),
    )


def test_the_system_receives_the_payload_signed_at_the_injected_time(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    connector.deliver(delivery_to(downstream), now=NOW)
    assert downstream.rejections == []
    (received,) = downstream.deliveries
    assert received.payload == access_payload()
    assert received.payload["subject"]["identifiers"]["name"] == SUBJECT_NAME
    assert received.body == json.dumps(access_payload(), separators=(",", ":"), ensure_ascii=False).encode()
    assert received.webhook_id == "msg_task-1"
    assert received.timestamp == int(NOW.timestamp())
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "privacy-service"


def test_the_reference_library_verifies_a_delivery_signed_now(connector: WebhookConnector) -> None:
    with FakeDownstream(check_timestamp=True) as strict:
        assert isinstance(connector.deliver(delivery_to(strict), now=datetime.now(UTC)), Completed)
        assert isinstance(connector.deliver(delivery_to(strict), now=NOW), Failed)  # months off
        assert len(strict.deliveries) == 1
        assert len(strict.rejections) == 1


@pytest.mark.parametrize("body", [b'{"status":"accepted"}', b""])
def test_a_202_is_accepted_with_or_without_a_body(
    connector: WebhookConnector, downstream: FakeDownstream, body: bytes
) -> None:
    downstream.answer_with(Answer(202, body))
    assert connector.deliver(delivery_to(downstream), now=NOW) == Accepted()


def test_an_accepted_status_in_a_200_is_accepted(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    downstream.answer_with(Answer(200, b'{"status":"accepted"}'))
    assert connector.deliver(delivery_to(downstream), now=NOW) == Accepted()


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_a_busy_or_broken_system_is_retried(
    connector: WebhookConnector, downstream: FakeDownstream, status: int
) -> None:
    downstream.answer_with(Answer(status))
    outcome = connector.deliver(delivery_to(downstream), now=NOW)
    assert outcome == Failed(error=f"HTTP {status} from the system", retryable=True)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422])
def test_a_refusal_is_not_retried(
    connector: WebhookConnector, downstream: FakeDownstream, status: int
) -> None:
    downstream.answer_with(Answer(status))
    outcome = connector.deliver(delivery_to(downstream), now=NOW)
    assert outcome == Failed(error=f"HTTP {status} from the system", retryable=False)


def test_an_unexpected_success_status_is_not_retried(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    downstream.answer_with(Answer(204))
    outcome = connector.deliver(delivery_to(downstream), now=NOW)
    assert outcome == Failed(error="HTTP 204 from the system; expected 200 or 202", retryable=False)


def test_a_retry_carries_the_same_webhook_id(connector: WebhookConnector, downstream: FakeDownstream) -> None:
    downstream.fail_first(1)
    delivery = delivery_to(downstream, webhook_id="msg_task-42")
    assert connector.deliver(delivery, now=NOW) == Failed(error="HTTP 503 from the system", retryable=True)
    assert isinstance(connector.deliver(delivery, now=NOW), Completed)
    assert [received.webhook_id for received in downstream.deliveries] == ["msg_task-42", "msg_task-42"]


def test_a_silent_system_times_out_and_is_retried(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    downstream.never_answer()
    started = time.monotonic()
    outcome = connector.deliver(delivery_to(downstream, timeout_seconds=QUICK), now=NOW)
    assert outcome == Failed(error="timed out after 0.2 s", retryable=True)
    assert time.monotonic() - started < 2
    assert len(downstream.deliveries) == 1


def test_a_slow_system_times_out(connector: WebhookConnector, downstream: FakeDownstream) -> None:
    downstream.delay_answers(2)
    outcome = connector.deliver(delivery_to(downstream, timeout_seconds=QUICK), now=NOW)
    assert outcome == Failed(error="timed out after 0.2 s", retryable=True)


def test_an_answer_dripped_slowly_times_out_as_a_whole(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    # Each pause is shorter than the timeout, so only a deadline over the whole answer stops it.
    body = json.dumps({"status": "completed", "data": {"padding": "x" * 400}}).encode()
    downstream.answer_with(Answer(200, body, drip_seconds=0.05))
    started = time.monotonic()
    outcome = connector.deliver(delivery_to(downstream, timeout_seconds=0.3), now=NOW)
    assert outcome == Failed(error="timed out after 0.3 s", retryable=True)
    assert time.monotonic() - started < 1


def test_a_closed_port_is_refused_and_retried(connector: WebhookConnector) -> None:
    with FakeDownstream() as gone:
        delivery = delivery_to(gone)
    outcome = connector.deliver(delivery, now=NOW)
    assert outcome == Failed(error="connection refused", retryable=True)


@pytest.mark.parametrize("content_length", [True, False])
def test_an_oversized_answer_is_not_read(downstream: FakeDownstream, content_length: bool) -> None:
    body = json.dumps({"status": "completed", "data": {"padding": "x" * 5000}}).encode()
    downstream.answer_with(Answer(200, body, content_length=content_length))
    with WebhookConnector(max_response_bytes=1024) as small:
        outcome = small.deliver(delivery_to(downstream), now=NOW)
    assert outcome == Failed(error="the answer is larger than 1024 bytes", retryable=False)


@pytest.mark.parametrize("follow_redirects", [False, True])
def test_a_redirect_is_not_followed_even_by_a_client_that_would(
    downstream: FakeDownstream, follow_redirects: bool
) -> None:
    with FakeDownstream(name="elsewhere", secret=downstream.secret) as elsewhere:
        downstream.answer_with(Answer(307, headers={"Location": elsewhere.url}))
        with httpx.Client(follow_redirects=follow_redirects) as http:
            outcome = WebhookConnector(http=http).deliver(delivery_to(downstream), now=NOW)
        assert outcome == Failed(
            error="HTTP 307 from the system; redirects are not followed", retryable=False
        )
        assert elsewhere.deliveries == []


def test_closing_the_connector_leaves_a_client_it_was_given_open(downstream: FakeDownstream) -> None:
    with httpx.Client() as http:
        WebhookConnector(http=http).close()
        assert not http.is_closed


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(200, b"<html>gateway</html>"), "the answer is not valid JSON"),
        (Answer(200, b'{"status":"pending"}'), "the answer's status must be completed or accepted"),
        (Answer(200, b'{"status":"completed","data":[]}'), "data must be a JSON object"),
    ],
)
def test_a_malformed_answer_is_not_retried(
    connector: WebhookConnector, downstream: FakeDownstream, answer: Answer, error: str
) -> None:
    downstream.answer_with(answer)
    assert connector.deliver(delivery_to(downstream), now=NOW) == Failed(error=error, retryable=False)


def test_an_unusable_secret_fails_without_sending(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    outcome = connector.deliver(delivery_to(downstream, secret="whsec_short"), now=NOW)
    assert isinstance(outcome, Failed)
    assert not outcome.retryable
    assert outcome.error.startswith("the system's secret is unusable")
    assert downstream.deliveries == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/dsr", "not a url", "http://"])
def test_an_unusable_url_is_not_retried(
    connector: WebhookConnector, downstream: FakeDownstream, url: str
) -> None:
    outcome = connector.deliver(delivery_to(downstream, url=url), now=NOW)
    assert outcome == Failed(error="the system's URL is not a usable http or https URL", retryable=False)


def test_a_failure_never_repeats_what_was_sent_or_answered(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    echoes = [
        Answer(400, f"unknown subject {SUBJECT_EMAIL}".encode()),
        Answer(503, json.dumps(access_payload()).encode()),
        Answer(200, f"<p>{SUBJECT_EMAIL}</p>".encode()),
        Answer(200, json.dumps({"status": SUBJECT_EMAIL}).encode()),
        Answer(200, json.dumps({"status": "completed", "data": [SUBJECT_EMAIL]}).encode()),
        Answer(200, json.dumps({"status": "completed", "retained": [{"category": SUBJECT_EMAIL}]}).encode()),
        Answer(302, headers={"Location": f"http://127.0.0.1:1/?email={SUBJECT_EMAIL}"}),
    ]
    delivery = delivery_to(downstream, url=f"{downstream.url}?token=url-secret")
    for answer in echoes:
        downstream.answer_with(answer)
        outcome = connector.deliver(delivery, now=NOW)
        assert isinstance(outcome, Failed)
        for sent in (SUBJECT_EMAIL, SUBJECT_NAME, "url-secret", delivery.secret, str(downstream.port)):
            assert sent not in outcome.error


def test_deliveries_from_many_threads_share_one_connector_without_waiting_on_each_other(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    downstream.delay_answers(0.3)
    outcomes: list[object] = []
    lock = threading.Lock()

    def deliver(index: int) -> None:
        outcome = connector.deliver(delivery_to(downstream, webhook_id=f"msg_{index}"), now=NOW)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(12)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 1.5  # one after the other would take 3.6 s
    assert outcomes == [Completed(data={}, retained=())] * 12
    assert sorted(received.webhook_id for received in downstream.deliveries) == sorted(
        f"msg_{index}" for index in range(12)
    )


def failing_transport(raise_error: Callable[[], None]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        raise_error()
        raise AssertionError("unreachable")

    return httpx.Client(transport=httpx.MockTransport(handler))


def _connect_error(cause: BaseException | None) -> Callable[[], None]:
    def raise_error() -> None:
        raise httpx.ConnectError("cannot connect to orders.internal") from cause

    return raise_error


def _read_error() -> None:
    raise httpx.ReadError("connection reset by orders.internal")


@pytest.mark.parametrize(
    ("raise_error", "error"),
    [
        (
            _connect_error(socket.gaierror(-2, "Name or service not known")),
            "the system's host name does not resolve",
        ),
        (
            _connect_error(ssl.SSLError(1, "certificate verify failed")),
            "the TLS handshake with the system failed",
        ),
        (_connect_error(OSError(113, "No route to host")), "could not connect to the system"),
        (_connect_error(None), "could not connect to the system"),
        (_read_error, "network error (ReadError)"),
    ],
)
def test_a_network_failure_is_named_without_the_host_and_retried(
    downstream: FakeDownstream, raise_error: Callable[[], None], error: str
) -> None:
    with failing_transport(raise_error) as http:
        outcome = WebhookConnector(http=http).deliver(delivery_to(downstream), now=NOW)
    assert outcome == Failed(error=error, retryable=True)


def test_a_webhook_id_that_cannot_be_a_header_is_not_retried(
    connector: WebhookConnector, downstream: FakeDownstream
) -> None:
    outcome = connector.deliver(delivery_to(downstream, webhook_id="msg_1\r\nx-injected: 1"), now=NOW)
    assert outcome == Failed(error="the request could not be formed as valid HTTP", retryable=False)
    assert downstream.deliveries == []


def test_a_response_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        WebhookConnector(max_response_bytes=0)
