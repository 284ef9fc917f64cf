"""examples/receiver.py, the downstream system a shop copies, run as a process and spoken to over HTTP.

Deliveries are signed here the way the service signs them (the
``standardwebhooks`` reference library); the callbacks the receiver sends are
checked with the service's own signature check and completion parser, so the
example stays something the service accepts. The README walkthrough runs it
in callback mode against the real service; these tests cover the rest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from privacy_service.connectors import parse_completion, verify_signature
from tests.e2e.conftest import free_port
from tests.support.downstream import new_secret

pytestmark = pytest.mark.e2e

RECEIVER = Path(__file__).resolve().parents[2] / "examples" / "receiver.py"
GERMAN_INVOICES = {"category": "invoices", "keep_for": "8 years", "legal_basis": "AO §147(1) no. 4 and (3)"}


@dataclass
class CallbackCatcher:
    """The service's callback endpoint, played by a loopback server that records what it is sent."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to answer first, then 200
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, timeout=30), self.received
            return list(self.received)


@pytest.fixture
def catcher() -> Iterator[CallbackCatcher]:
    catcher = CallbackCatcher(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            with catcher.arrived:
                catcher.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                catcher.arrived.notify_all()
                status = catcher.answers.pop(0) if catcher.answers else 200
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    catcher.url = f"http://127.0.0.1:{server.server_address[1]}/v1/dsr/callbacks/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield catcher
    server.shutdown()
    server.server_close()


@dataclass
class RunningReceiver:
    url: str
    secret: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    logged: threading.Condition = field(default_factory=threading.Condition)

    def deliver(
        self, payload: dict[str, Any], *, webhook_id: str | None = None, secret: str | None = None
    ) -> httpx.Response:
        """POST ``payload`` signed as the service signs a delivery."""
        body = json.dumps(payload).encode()
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret or self.secret).sign(webhook_id, now, body),
        }
        return httpx.post(self.url, content=body, headers=headers, timeout=30)

    def read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.logged:
                self.lines.append(line)
                self.logged.notify_all()

    def wait_for_log(self, text: str) -> None:
        with self.logged:
            found = self.logged.wait_for(lambda: any(text in line for line in self.lines), timeout=30)
            assert found, f"{text!r} not in the receiver's log:\n{self.log()}"

    def log(self) -> str:
        return "".join(self.lines)


def start_receiver(mode: str) -> RunningReceiver:
    port = free_port()
    secret = new_secret()
    process = subprocess.Popen(
        [sys.executable, str(RECEIVER), "--port", str(port), "--mode", mode, "--callback-delay", "0"],
        env={"WEBHOOK_SECRET": secret, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    receiver = RunningReceiver(url=base + "/privacy/webhook", secret=secret, process=process)
    threading.Thread(target=receiver.read_output, daemon=True).start()
    receiver.wait_for_log("answering")  # it prints this line once it listens
    return receiver


@pytest.fixture
def receiver_now() -> Iterator[RunningReceiver]:
    receiver = start_receiver("now")
    yield receiver
    receiver.process.kill()
    receiver.process.wait(30)


@pytest.fixture
def receiver_callback() -> Iterator[RunningReceiver]:
    receiver = start_receiver("callback")
    yield receiver
    receiver.process.kill()
    receiver.process.wait(30)


def delivery(
    kind: str, callback_base: str = "http://127.0.0.1:9/v1/dsr/callbacks/", **extra: Any
) -> dict[str, Any]:
    task_id = uuid.uuid4().hex
    return {
        "type": f"dsr.{kind}",
        "request_id": uuid.uuid4().hex,
        "task_id": task_id,
        "due_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "subject": {
            "id": "01subject",
            "email": "ada@example.com",
            "identifiers": {"email": "ada@example.com"},
        },
        "callback_url": callback_base + task_id,
        **extra,
    }


def test_the_receiver_answers_an_access_request_at_once_with_the_subjects_orders_and_invoices(
    receiver_now: RunningReceiver,
) -> None:
    answer = receiver_now.deliver(delivery("access"))

    assert answer.status_code == 200
    completed = parse_completion(answer.content)
    assert [order["number"] for order in completed.data["orders"]] == ["A-1001", "A-1002"]
    assert [invoice["number"] for invoice in completed.data["invoices"]] == ["2026-0042", "2026-0107"]
    assert completed.retained == ()


def test_an_erasure_keeps_only_the_invoices_under_a_legal_hold_and_reports_them_retained(
    receiver_now: RunningReceiver,
) -> None:
    erased = receiver_now.deliver(delivery("erasure", legal_holds=[GERMAN_INVOICES]))

    assert erased.status_code == 200
    [kept] = parse_completion(erased.content).retained
    assert (kept.category, kept.reason, kept.until) == (
        "invoices",
        GERMAN_INVOICES["legal_basis"],
        "2034-12-31",
    )
    left = parse_completion(receiver_now.deliver(delivery("access")).content).data
    assert set(left) == {"invoices"}


def test_an_erasure_without_a_legal_hold_erases_everything_and_retains_nothing(
    receiver_now: RunningReceiver,
) -> None:
    erased = receiver_now.deliver(delivery("erasure", legal_holds=[]))

    assert parse_completion(erased.content).retained == ()
    assert parse_completion(receiver_now.deliver(delivery("access")).content).data == {}


def test_a_retried_delivery_is_answered_as_the_first_time_and_not_carried_out_twice(
    receiver_now: RunningReceiver,
) -> None:
    erasure = delivery("erasure", legal_holds=[GERMAN_INVOICES])
    first = receiver_now.deliver(erasure, webhook_id="msg_retried")
    retry = receiver_now.deliver(erasure, webhook_id="msg_retried")

    assert retry.status_code == 200
    assert retry.json() == first.json()
    receiver_now.wait_for_log("msg_retried again, answered as before")


def test_a_delivery_signed_with_another_secret_is_refused_and_changes_nothing(
    receiver_now: RunningReceiver,
) -> None:
    forged = receiver_now.deliver(delivery("erasure", legal_holds=[]), secret=new_secret())

    assert forged.status_code == 401
    still = parse_completion(receiver_now.deliver(delivery("access")).content).data
    assert set(still) == {"orders", "invoices"}


def test_an_unsigned_delivery_is_refused(receiver_now: RunningReceiver) -> None:
    answer = httpx.post(receiver_now.url, json=delivery("erasure", legal_holds=[]), timeout=30)

    assert answer.status_code == 401


def test_in_callback_mode_the_receiver_accepts_then_posts_the_completion_with_its_task_id_signed_afresh(
    receiver_callback: RunningReceiver, catcher: CallbackCatcher
) -> None:
    access = delivery("access", callback_base=catcher.url)
    answer = receiver_callback.deliver(access, webhook_id="msg_delivery")

    assert answer.status_code == 202
    assert answer.json() == {"status": "accepted"}
    [(headers, body)] = catcher.wait_for(1)
    # What the service checks of a callback: its signature under the system's secret, and its body.
    webhook_id = verify_signature(
        secret=receiver_callback.secret, headers=headers, body=body, now=datetime.now(UTC)
    )
    assert webhook_id != "msg_delivery"
    assert json.loads(body)["task_id"] == access["task_id"]
    assert set(parse_completion(body).data) == {"orders", "invoices"}


def test_in_callback_mode_a_retry_is_not_carried_out_again_and_once_called_back_gets_the_completion(
    receiver_callback: RunningReceiver, catcher: CallbackCatcher
) -> None:
    erasure = delivery("erasure", callback_base=catcher.url, legal_holds=[GERMAN_INVOICES])
    assert receiver_callback.deliver(erasure, webhook_id="msg_once").status_code == 202
    [(_, called_back)] = catcher.wait_for(1)

    # The receiver notes the callback as done once the service has answered it; until then a
    # retry is accepted again (202), afterwards it is answered with the completion itself.
    retries: list[httpx.Response] = []
    while not retries or (retries[-1].status_code == 202 and len(retries) < 500):
        retries.append(receiver_callback.deliver(erasure, webhook_id="msg_once"))

    assert {retry.status_code for retry in retries} <= {200, 202}
    assert retries[-1].status_code == 200
    assert parse_completion(retries[-1].content) == parse_completion(called_back)
    assert len(catcher.received) == 1
    assert receiver_callback.log().count("erased the subject's records") == 1


def test_in_callback_mode_a_callback_the_service_could_not_take_is_sent_again_under_a_new_webhook_id(
    receiver_callback: RunningReceiver, catcher: CallbackCatcher
) -> None:
    catcher.answers = [503]
    access = delivery("access", callback_base=catcher.url)
    assert receiver_callback.deliver(access).status_code == 202

    [(first, refused), (second, taken)] = catcher.wait_for(2)

    assert taken == refused
    assert first["webhook-id"] != second["webhook-id"]
    verify_signature(secret=receiver_callback.secret, headers=second, body=taken, now=datetime.now(UTC))
    receiver_callback.wait_for_log("callback refused (503 Service Unavailable), trying again in 1 s")
    receiver_callback.wait_for_log("callback answered 200")


def test_in_callback_mode_a_callback_refused_for_good_is_not_sent_again(
    receiver_callback: RunningReceiver, catcher: CallbackCatcher
) -> None:
    catcher.answers = [409]
    assert receiver_callback.deliver(delivery("access", callback_base=catcher.url)).status_code == 202

    catcher.wait_for(1)

    receiver_callback.wait_for_log("callback refused (409 Conflict), not sent again")
