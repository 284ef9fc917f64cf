"""A system's answer, read strictly: ``{"status": "completed", "data": {...}, "retained": [...]}``.

The same body arrives at once (HTTP 200) or later at the callback URL, so one
parser serves both. Messages name the field at fault, never a value from the
body: the body carries the subject's personal data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NoReturn

from privacy_service.connectors.delivery import Accepted, Completed, Retained
from privacy_service.connectors.errors import InvalidCompletion

COMPLETED = "completed"
ACCEPTED = "accepted"
MAX_UNTIL_LENGTH = 64


def parse_completion(body: bytes) -> Completed:
    """The completion in ``body``; raises ``InvalidCompletion`` if it is anything else."""
    answer = _json_object(body)
    if answer.get("status") != COMPLETED:
        raise InvalidCompletion(f"the answer's status must be {COMPLETED}")
    return _completed(answer)


def callback_task_id(body: bytes) -> str | None:
    """The ``task_id`` a callback's body names, or None when it names none (or is no JSON object).

    A signature covers the body and headers, not the URL: the task a callback
    completes is the one its signed body names (API.md "What downstream
    systems receive"), which the caller compares with the task of the URL.
    """
    try:
        answer = _json_object(body)
    except InvalidCompletion:
        return None
    task_id = answer.get("task_id")
    return task_id if isinstance(task_id, str) and task_id else None


def parse_answer(body: bytes) -> Completed | Accepted:
    """A synchronous answer: a completion, or ``{"status": "accepted"}`` for one that comes by callback."""
    answer = _json_object(body)
    status = answer.get("status")
    if status == ACCEPTED:
        return Accepted()
    if status != COMPLETED:
        raise InvalidCompletion(f"the answer's status must be {COMPLETED} or {ACCEPTED}")
    return _completed(answer)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidCompletion("the answer is not valid JSON") from None
    if not isinstance(answer, dict):
        raise InvalidCompletion("the answer is not a JSON object")
    return answer


def _refuse_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON (RFC 8259 §6), though Python's parser accepts them.
    raise ValueError("not JSON")


def _completed(answer: dict[str, Any]) -> Completed:
    data = answer.get("data")
    if data is None:
        data = {}  # an erasure may have nothing to report
    if not isinstance(data, dict):
        raise InvalidCompletion("data must be a JSON object")
    retained = answer.get("retained")
    if retained is None:
        retained = []
    if not isinstance(retained, list):
        raise InvalidCompletion("retained must be a JSON array")
    return Completed(data=data, retained=tuple(_retained(item, index) for index, item in enumerate(retained)))


def _retained(item: object, index: int) -> Retained:
    where = f"retained[{index}]"
    if not isinstance(item, dict):
        raise InvalidCompletion(f"{where} must be a JSON object")
    category, reason, until = item.get("category"), item.get("reason"), item.get("until")
    if not isinstance(category, str) or not category.strip():
        raise InvalidCompletion(f"{where}.category must be a non-empty string")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidCompletion(f"{where}.reason must be a non-empty string")
    if until is not None and not (isinstance(until, str) and _is_iso_moment(until)):
        raise InvalidCompletion(f"{where}.until must be an ISO 8601 date or date-time, or null")
    return Retained(category=category, reason=reason, until=until)


def _is_iso_moment(value: str) -> bool:
    if len(value) > MAX_UNTIL_LENGTH:
        return False
    try:
        datetime.fromisoformat(value)  # Python 3.11: a date alone, or a date-time with "Z" or an offset
    except ValueError:
        return False
    return True
