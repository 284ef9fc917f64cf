"""A fake downstream system (an order database, invoicing, a mailer) served over real HTTP on loopback.

``FakeDownstream`` is what a shop's system looks like to privacy-service: a URL
and a Standard Webhooks secret. It checks every delivery with the reference
``standardwebhooks`` library, never with the service's own code, records what
it received, and answers as its script says: completed at once, accepted (then
completed by a signed callback the test sends), failing for a while, slow,
silent, or nonsense. It uses threads and the standard library only, no pytest,
so functional tests and benchmarks share it.

The service's tests run on a frozen clock (2026-01-15), so by default only the
signature is checked against the timestamp the request carries; pass
``check_timestamp=True`` to also apply the reference library's five-minute
window against the wall clock.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from standardwebhooks import Webhook

MAX_REQUEST_BYTES = 10 * 1024 * 1024
GARBAGE = b"<html><body>502 Bad Gateway, but as a 200</body></html>"


def new_secret() -> str:
    """A Standard Webhooks key, made without the service's code."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@dataclass(frozen=True)
class ReceivedDelivery:
    """A delivery whose signature the fake verified."""

    webhook_id: str
    timestamp: int  # the webhook-timestamp header, Unix seconds
    payload: dict[str, Any] = field(repr=False)
    headers: dict[str, str] = field(repr=False)  # names lower-cased
    body: bytes = field(repr=False)
    path: str
    received_at: datetime  # the wall clock's time

    @property
    def callback_url(self) -> str:
        return str(self.payload["callback_url"])

    @property
    def task_id(self) -> str:
        return str(self.payload["task_id"])


@dataclass(frozen=True)
class SignedCallback:
    """A completion signed as the system would send it; the test POSTs it to ``url``."""

    url: str
    headers: dict[str, str]
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: ``drip_seconds`` sends the body a few bytes at a time with pauses in between."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_length: bool = True
    drip_seconds: float = 0.0


@dataclass
class _Script:
    answer: Answer
    failures_left: int = 0
    failure_status: int = 503
    delay_seconds: float = 0.0
    silent: bool = False


class FakeDownstream:
    """One downstream system on ``http://127.0.0.1:<port>``; a context manager that starts and stops it."""

    def __init__(
        self, *, name: str = "orders", secret: str | None = None, check_timestamp: bool = False
    ) -> None:
        self.name = name
        self.secret = secret or new_secret()
        self.check_timestamp = check_timestamp
        self._webhook = Webhook(self.secret)
        self._lock = threading.Lock()
        self._received = threading.Condition(self._lock)
        self._script = _Script(answer=_completed_answer({}, ()))
        self._deliveries: list[ReceivedDelivery] = []
        self._rejections: list[str] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeDownstream:
        if self._server is not None:
            raise RuntimeError("already started")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-downstream-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; answers still delayed or withheld are cut short, so this returns promptly."""
        self._stopping.set()
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeDownstream:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The URL to register the system with."""
        return f"http://127.0.0.1:{self.port}/{self.name}/dsr"

    # -- the script --------------------------------------------------------------------------------

    def answer_completed(
        self, data: Mapping[str, Any] | None = None, retained: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        """Answer 200 ``{"status": "completed", "data": ..., "retained": [...]}``; by default with nothing."""
        self._set(answer=_completed_answer(data or {}, retained))

    def answer_accepted(self) -> None:
        """Answer 202 ``{"status": "accepted"}``; complete later with ``signed_callback``."""
        self._set(answer=Answer(202, _json({"status": "accepted"}), {"Content-Type": "application/json"}))

    def answer_garbage(self) -> None:
        """Answer 200 with a body that is not JSON."""
        self._set(answer=Answer(200, GARBAGE, {"Content-Type": "text/html"}))

    def answer_with(self, answer: Answer) -> None:
        """Answer anything: a status, a body, headers (a redirect's Location), no length, a slow drip."""
        self._set(answer=answer)

    def fail_first(self, count: int, *, status: int = 503) -> None:
        """Answer ``status`` to the next ``count`` deliveries, then as scripted."""
        self._set(failures_left=count, failure_status=status)

    def delay_answers(self, seconds: float) -> None:
        """Wait ``seconds`` before each answer (in the request's own thread, so systems do not queue)."""
        self._set(delay_seconds=seconds)

    def never_answer(self) -> None:
        """Record deliveries but hold the connection open without answering until the fake stops."""
        self._set(silent=True)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self._script, name, value)

    # -- what was received -------------------------------------------------------------------------

    @property
    def deliveries(self) -> list[ReceivedDelivery]:
        """Every delivery with a valid signature, in the order received."""
        with self._lock:
            return list(self._deliveries)

    @property
    def rejections(self) -> list[str]:
        """Why each refused request was refused (401 for a bad signature, 400 for a body that is not JSON)."""
        with self._lock:
            return list(self._rejections)

    def wait_for_deliveries(self, count: int, *, timeout: float = 5.0) -> list[ReceivedDelivery]:
        """Block until ``count`` deliveries have arrived (sent by worker threads, say); raise TimeoutError."""
        with self._received:
            if not self._received.wait_for(lambda: len(self._deliveries) >= count, timeout=timeout):
                raise TimeoutError(
                    f"{self.name}: {len(self._deliveries)} of {count} deliveries after {timeout} s"
                )
            return list(self._deliveries)

    # -- callbacks ---------------------------------------------------------------------------------

    def signed_callback(
        self,
        delivery: ReceivedDelivery,
        *,
        data: Mapping[str, Any] | None = None,
        retained: Sequence[Mapping[str, Any]] = (),
        timestamp: datetime | None = None,
        webhook_id: str | None = None,
        body: bytes | None = None,
    ) -> SignedCallback:
        """The completion of an accepted ``delivery``, signed with the reference library at ``timestamp``.

        The body names the delivery's ``task_id``, as API.md asks of a callback. Pass the service's
        frozen time as ``timestamp`` (the wall clock otherwise), and ``body`` to sign something other
        than a well-formed completion.
        """
        moment = (timestamp or datetime.now(UTC)).astimezone(UTC)
        if body is None:
            completion = {"status": "completed", "data": dict(data or {}), "task_id": delivery.task_id}
            body = _json({**completion, "retained": [dict(item) for item in retained]})
        content = body
        message_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(math.floor(moment.timestamp())),
            "webhook-signature": self._webhook.sign(message_id, moment, content.decode("utf-8")),
            "content-type": "application/json",
        }
        return SignedCallback(url=delivery.callback_url, headers=headers, body=content)

    def complete_by_callback(
        self,
        delivery: ReceivedDelivery,
        *,
        post: Callable[..., Any],
        data: Mapping[str, Any] | None = None,
        retained: Sequence[Mapping[str, Any]] = (),
        timestamp: datetime | None = None,
    ) -> Any:
        """Send the signed completion as ``post(url, content=..., headers=...)``, e.g. ``TestClient.post``."""
        callback = self.signed_callback(delivery, data=data, retained=retained, timestamp=timestamp)
        return post(callback.url, content=callback.body, headers=callback.headers)

    # -- serving -----------------------------------------------------------------------------------

    def _handle(self, request: _Handler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._refuse(request, 413, "the request is too large")
            return
        body = request.rfile.read(length)
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            self._verify(body, headers)
        except Exception as exc:  # the reference library raises more than its own error on bad input
            self._refuse(request, 401, f"signature: {type(exc).__name__}: {exc}")
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self._refuse(request, 400, "the body is not JSON")
            return
        received = ReceivedDelivery(
            webhook_id=headers["webhook-id"],
            timestamp=int(headers["webhook-timestamp"]),
            payload=payload,
            headers=headers,
            body=body,
            path=request.path,
            received_at=datetime.now(UTC),
        )
        with self._received:
            self._deliveries.append(received)
            self._received.notify_all()
            script = self._script
            if script.failures_left > 0:
                script.failures_left -= 1
                answer = Answer(script.failure_status, _json({"error": "unavailable"}))
            else:
                answer = script.answer
            delay, silent = script.delay_seconds, script.silent
        if delay and self._stopping.wait(delay):
            return
        if silent:
            self._stopping.wait()
            return
        self._send(request, answer)

    def _verify(self, body: bytes, headers: dict[str, str]) -> None:
        if self.check_timestamp:
            self._webhook.verify(body, headers)
            return
        # The reference library's own check, minus its wall-clock window.
        sent_at = datetime.fromtimestamp(float(headers["webhook-timestamp"]), UTC)
        expected = self._webhook.sign(headers["webhook-id"], sent_at, body.decode("utf-8"))
        if expected not in headers["webhook-signature"].split(" "):
            raise ValueError("no matching signature")

    def _refuse(self, request: _Handler, status: int, reason: str) -> None:
        with self._lock:
            self._rejections.append(reason)
        self._send(request, Answer(status, _json({"error": reason})))

    def _send(self, request: _Handler, answer: Answer) -> None:
        try:
            request.send_response(answer.status)
            for name, value in answer.headers.items():
                request.send_header(name, value)
            if answer.content_length:
                request.send_header("Content-Length", str(len(answer.body)))
            request.end_headers()
            if not answer.drip_seconds:
                request.wfile.write(answer.body)
                return
            for start in range(0, len(answer.body), 16):
                request.wfile.write(answer.body[start : start + 16])
                request.wfile.flush()
                if self._stopping.wait(answer.drip_seconds):
                    return
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (it timed out, or refused an oversized answer)


class FakeDownstreamFleet:
    """``count`` fake systems started and stopped together, named ``<prefix>-00``, ``<prefix>-01``, ..."""

    def __init__(self, count: int, *, prefix: str = "system", check_timestamp: bool = False) -> None:
        self.systems = [
            FakeDownstream(name=f"{prefix}-{index:02d}", check_timestamp=check_timestamp)
            for index in range(count)
        ]

    def __enter__(self) -> FakeDownstreamFleet:
        started: list[FakeDownstream] = []
        try:
            for system in self.systems:
                started.append(system.start())
        except BaseException:
            _stop_all(started)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        _stop_all(self.systems)

    def __iter__(self) -> Iterator[FakeDownstream]:
        return iter(self.systems)

    def __len__(self) -> int:
        return len(self.systems)

    def __getitem__(self, name: str) -> FakeDownstream:
        for system in self.systems:
            if system.name == name:
                return system
        raise KeyError(name)

    @property
    def deliveries(self) -> list[ReceivedDelivery]:
        return [delivery for system in self.systems for delivery in system.deliveries]


def _stop_all(systems: Sequence[FakeDownstream]) -> None:
    # Each stop waits for its server's poll loop; stopping them side by side keeps a fleet's exit short.
    if systems:
        with ThreadPoolExecutor(max_workers=min(len(systems), 16)) as pool:
            list(pool.map(FakeDownstream.stop, systems))


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a held connection must not keep the process (or server_close) waiting

    def __init__(self, fake: FakeDownstream) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up is not the fake's problem; recorded behaviour is what tests check


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: a stopped fake leaves nothing open

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _completed_answer(data: Mapping[str, Any], retained: Sequence[Mapping[str, Any]]) -> Answer:
    return Answer(200, _completion_body(data, retained), {"Content-Type": "application/json"})


def _completion_body(data: Mapping[str, Any], retained: Sequence[Mapping[str, Any]]) -> bytes:
    return _json({"status": "completed", "data": dict(data), "retained": [dict(item) for item in retained]})


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
