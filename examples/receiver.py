#!/usr/bin/env python3
"""An example downstream system: a shop's order database answering privacy-service's requests.

privacy-service asks every registered system about each data subject request
(GDPR Art. 15 access, Art. 17 erasure) with a signed Standard Webhooks POST.
This is what a system has to do with one, in the order it happens:

1. verify the signature before believing anything in the body (the
   ``standardwebhooks`` library does it, five-minute window included);
2. de-duplicate by ``webhook-id``: a delivery is retried with the same id when
   an answer went missing, and must not be carried out twice;
3. for ``dsr.access``, collect what it holds about the subject; for
   ``dsr.erasure``, erase it, except what the law makes it keep: the delivery
   lists those ``legal_holds``, and the answer says what was ``retained``;
4. answer at once (200 with the completed body), or accept (202) and post the
   completed body later, with ``task_id`` added and a fresh ``webhook-id``,
   signed with the same secret, to the delivery's ``callback_url``.

Run it (the secret is the one you register the system with; it is read from
the environment rather than a flag, which every user of the machine could see
in the process list)::

    .venv/bin/python examples/receiver.py --new-secret              # prints a fresh whsec_ secret
    WEBHOOK_SECRET=whsec_... .venv/bin/python examples/receiver.py --port 8001 --mode callback

and register ``http://127.0.0.1:8001/privacy/webhook`` with ``POST /v1/systems``
(request types ``access`` and ``erasure``, categories ``orders`` and
``invoices``), or in ``policies/systems.yaml``. The data lives in memory and
starts as ``SAMPLE_CUSTOMERS`` below; copy the file and put your own database
behind ``OrderBook``.

Only the standard library and ``standardwebhooks``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

WEBHOOK_PATH = "/privacy/webhook"
MAX_BODY_BYTES = 1024 * 1024
MAX_CALLBACK_PAUSE_SECONDS = 300
TRY_AGAIN_LATER = {408, 425, 429}  # 4xx answers that ask for a retry; 5xx answers do too

# What the order database holds, keyed by the customer's e-mail address: that is how older shop
# records find a customer. A system that stores privacy-service's subject id (the `id` that
# POST /v1/users answers) looks the subject up by that instead: it arrives as subject.id.
SAMPLE_CUSTOMERS: dict[str, dict[str, list[dict[str, Any]]]] = {
    "ada@example.com": {
        "orders": [
            {"number": "A-1001", "placed_on": "2026-03-02", "items": ["Espresso machine"],
             "ship_to": "Ada Lovelace, Marienstraße 12, 10117 Berlin"},
            {"number": "A-1002", "placed_on": "2026-04-18", "items": ["Coffee beans, 1 kg"],
             "ship_to": "Ada Lovelace, Marienstraße 12, 10117 Berlin"},
        ],
        "invoices": [
            {"number": "2026-0042", "order": "A-1001", "issued_on": "2026-03-02", "total": "249.00 EUR"},
            {"number": "2026-0107", "order": "A-1002", "issued_on": "2026-04-18", "total": "18.90 EUR"},
        ],
    },
}  # fmt: skip


@dataclass
class OrderBook:
    """The system's own data: each customer's records by category (``orders``, ``invoices``)."""

    customers: dict[str, dict[str, list[dict[str, Any]]]]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def export(self, subject: dict[str, Any]) -> dict[str, Any]:
        """Everything held about the subject, for an access request (Art. 15)."""
        with self.lock:
            records = self.customers.get(subject["email"], {})
            return {category: list(items) for category, items in records.items() if items}

    def erase(self, subject: dict[str, Any], legal_holds: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Erase the subject's records (Art. 17) except those under a legal hold; return what was kept."""
        held = {hold["category"]: hold for hold in legal_holds}
        retained = []
        with self.lock:
            records = self.customers.pop(subject["email"], {})
            kept = {category: items for category, items in records.items() if category in held and items}
            if kept:
                # Still keyed by the address here; a real system would key what it keeps by the subject id.
                self.customers[subject["email"]] = kept
        for category, items in kept.items():
            hold = held[category]
            until = keep_until(items, hold["keep_for"])
            retained.append({"category": category, "reason": hold["legal_basis"], "until": until})
        return retained


def keep_until(items: list[dict[str, Any]], keep_for: str) -> str | None:
    """The last day to keep these records: ``keep_for`` (e.g. "8 years") after the end of the latest
    record's year, as German commercial and tax law counts it (HGB §257(5), AO §147(4)). None if unknown."""
    years = re.fullmatch(r"(\d+) years?", keep_for)
    dates = [item["issued_on"] for item in items if "issued_on" in item]
    if years is None or not dates:
        return None
    last_year = max(date.fromisoformat(day) for day in dates).year
    return date(last_year + int(years.group(1)), 12, 31).isoformat()


class Receiver:
    """Turns verified deliveries into answers, once per ``webhook-id``."""

    def __init__(self, *, secret: str, mode: str, book: OrderBook, callback_delay: float) -> None:
        self.webhook = Webhook(secret)
        self.mode = mode
        self.book = book
        self.callback_delay = callback_delay
        self.lock = threading.Lock()
        # webhook-id -> the completed body for that delivery. Kept in memory here; a real system keeps
        # it in its database, at least as long as the service may retry (until the request's due date).
        self.answered: dict[str, dict[str, Any]] = {}
        self.calling_back: set[str] = set()  # deliveries whose callback is on its way
        self.called_back: set[str] = set()  # deliveries whose callback the service took

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body answering one delivery."""
        try:
            delivery = self.webhook.verify(body, headers)  # raises unless the signature and timestamp hold
        except WebhookVerificationError:
            return 401, {"error": "invalid signature"}
        webhook_id = headers["webhook-id"]
        if delivery.get("type") not in ("dsr.access", "dsr.erasure"):
            return 400, {"error": "this system answers dsr.access and dsr.erasure only"}

        with self.lock:
            if webhook_id in self.answered:
                log(f"{delivery['type']} task {delivery['task_id']}: {webhook_id} again, answered as before")
            else:
                self.answered[webhook_id] = self.carry_out(delivery)
            completed = self.answered[webhook_id]
            if self.mode == "now" or webhook_id in self.called_back:
                return 200, completed
            # Accepted: call back, unless a callback is already on its way. A retry after a callback
            # that never got through (the service was down, say) sends it again.
            call_back_now = webhook_id not in self.calling_back
            self.calling_back.add(webhook_id)
        if call_back_now:
            threading.Thread(target=self.call_back, args=(webhook_id, delivery, completed)).start()
        return 202, {"status": "accepted"}

    def carry_out(self, delivery: dict[str, Any]) -> dict[str, Any]:
        """Do what the request asks, once, and return the completed answer."""
        subject = delivery["subject"]
        if delivery["type"] == "dsr.access":
            data = self.book.export(subject)
            log(f"dsr.access task {delivery['task_id']}: exported {describe(data)}")
            return {"status": "completed", "data": data, "retained": []}
        retained = self.book.erase(subject, delivery.get("legal_holds", []))
        kept = ", ".join(f"{item['category']} until {item['until']}" for item in retained) or "nothing"
        log(f"dsr.erasure task {delivery['task_id']}: erased the subject's records; kept {kept}")
        return {"status": "completed", "data": {}, "retained": retained}

    def call_back(self, webhook_id: str, delivery: dict[str, Any], completed: dict[str, Any]) -> None:
        """POST the completed answer to ``callback_url``, signed, until the service takes it.

        Once a system has accepted a task the service does not ask again: it waits for the callback
        until the request's due date. So a callback that does not get through is tried again, with
        growing pauses, until then.
        """
        task = f"{delivery['type']} task {delivery['task_id']}"
        due = datetime.fromisoformat(delivery["due_at"])
        time.sleep(self.callback_delay)  # the work a real system does before it calls back
        body = json.dumps({**completed, "task_id": delivery["task_id"]}).encode()
        taken = False
        pause = 1.0
        while True:
            try:
                status = self.post_signed(delivery["callback_url"], body)
            except urllib.error.HTTPError as error:
                if error.code < 500 and error.code not in TRY_AGAIN_LATER:
                    # The same callback would be refused again (e.g. the task has already ended).
                    log(f"{task}: callback refused ({error.code} {error.reason}), not sent again")
                    break
                problem = f"callback refused ({error.code} {error.reason})"
            except OSError as error:
                problem = f"callback failed ({error})"
            else:
                log(f"{task}: callback answered {status}")
                taken = True
                break
            if datetime.now(UTC) + timedelta(seconds=pause) > due:
                log(f"{task}: {problem}; the request's due date has passed, giving up")
                break
            log(f"{task}: {problem}, trying again in {pause:g} s")
            time.sleep(pause)
            pause = min(pause * 2, MAX_CALLBACK_PAUSE_SECONDS)
        with self.lock:
            self.calling_back.discard(webhook_id)
            if taken:
                self.called_back.add(webhook_id)

    def post_signed(self, url: str, body: bytes) -> int:
        """POST ``body`` signed as a Standard Webhooks message; the HTTP status, or HTTPError."""
        # A fresh id and timestamp for every message, retries included: the service takes each id once.
        message_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(message_id, now, body),
        }
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (the service's own URL)
            return int(answer.status)


def describe(data: dict[str, Any]) -> str:
    return ", ".join(f"{len(items)} {category}" for category, items in data.items()) or "nothing"


def log(line: str) -> None:
    # Ids and counts only: the subject's personal data stays out of the log.
    print(f"{datetime.now(UTC):%H:%M:%S} {line}", flush=True)


def make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != WEBHOOK_PATH:
                return self.reply(404, {"error": "not found"})
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                return self.reply(413, {"error": "body too large"})
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            return self.reply(*receiver.handle(headers, body))

        def do_GET(self) -> None:
            if self.path == "/healthz":
                return self.reply(200, {"status": "ok"})
            return self.reply(404, {"error": "not found"})

        def reply(self, status: int, answer: dict[str, Any]) -> None:
            encoded = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # each delivery is logged once, by Receiver, without the request line

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="TCP port (default 8001)")
    parser.add_argument(
        "--mode", choices=["now", "callback"], default="now",
        help="answer at once (200), or accept (202) and complete by a signed callback (default now)",
    )  # fmt: skip
    parser.add_argument(
        "--callback-delay", type=float, default=1.0, metavar="SECONDS",
        help="in callback mode, how long the work takes before the callback (default 1)",
    )  # fmt: skip
    parser.add_argument("--new-secret", action="store_true", help="print a fresh whsec_ secret and exit")
    options = parser.parse_args(argv)

    if options.new_secret:
        print("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
        return
    secret = os.environ.get("WEBHOOK_SECRET", "")
    if not secret.startswith("whsec_"):
        sys.exit("set WEBHOOK_SECRET to the system's whsec_ secret (make one with --new-secret)")

    receiver = Receiver(
        secret=secret,
        mode=options.mode,
        book=OrderBook(customers=json.loads(json.dumps(SAMPLE_CUSTOMERS))),  # a copy to change
        callback_delay=options.callback_delay,
    )
    server = ThreadingHTTPServer((options.host, options.port), make_handler(receiver))
    log(f"answering {options.mode} at http://{options.host}:{options.port}{WEBHOOK_PATH}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
