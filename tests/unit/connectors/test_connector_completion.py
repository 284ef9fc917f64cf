"""A completion is read strictly, and a bad one is refused without repeating what it carried."""

from __future__ import annotations

import json
from typing import Any

import pytest

from privacy_service.connectors import (
    Completed,
    InvalidCompletion,
    Retained,
    callback_task_id,
    parse_completion,
)
from privacy_service.connectors.completion import parse_answer
from privacy_service.connectors.delivery import Accepted
from tests.unit.connectors.deliveries import SUBJECT_EMAIL

INVOICES = {"category": "invoices", "reason": "HGB §257: ten years", "until": "2036-01-15"}


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


def refusal(body: bytes) -> str:
    with pytest.raises(InvalidCompletion) as refused:
        parse_completion(body)
    assert (refused.value.status, refused.value.code) == (422, "invalid_completion")
    assert SUBJECT_EMAIL not in refused.value.detail
    return refused.value.detail


def test_a_completion_yields_its_data_and_what_is_retained() -> None:
    body = encoded(
        {
            "status": "completed",
            "data": {"orders": [{"id": "o-1", "email": SUBJECT_EMAIL}]},
            "retained": [INVOICES, {"category": "chargebacks", "reason": "open dispute", "until": None}],
        }
    )
    assert parse_completion(body) == Completed(
        data={"orders": [{"id": "o-1", "email": SUBJECT_EMAIL}]},
        retained=(
            Retained(category="invoices", reason="HGB §257: ten years", until="2036-01-15"),
            Retained(category="chargebacks", reason="open dispute", until=None),
        ),
    )


@pytest.mark.parametrize("until", ["2036-01-15", "2036-01-15T00:00:00Z", "2036-01-15T09:30:00+02:00"])
def test_until_is_kept_as_the_system_sent_it(until: str) -> None:
    completion = parse_completion(
        encoded({"status": "completed", "retained": [{**INVOICES, "until": until}]})
    )
    assert completion.retained[0].until == until


def test_an_erasure_may_report_no_data_and_nothing_retained() -> None:
    assert parse_completion(b'{"status":"completed"}') == Completed(data={}, retained=())
    assert parse_completion(b'{"status":"completed","data":null,"retained":null}') == Completed(
        data={}, retained=()
    )


@pytest.mark.parametrize(
    "body", [b"<html>oops</html>", b"", b"\xff\xfe\x00", b'{"status": NaN}', b"[" * 100_000]
)
def test_a_body_that_is_not_json_is_refused(body: bytes) -> None:
    assert refusal(body) == "the answer is not valid JSON"


@pytest.mark.parametrize("body", [b"[]", b'"completed"', b"null", b"42"])
def test_a_body_that_is_not_an_object_is_refused(body: bytes) -> None:
    assert refusal(body) == "the answer is not a JSON object"


@pytest.mark.parametrize("status", ["accepted", "done", SUBJECT_EMAIL, None])
def test_a_status_other_than_completed_is_refused(status: str | None) -> None:
    assert refusal(encoded({"status": status, "data": {}})) == "the answer's status must be completed"


@pytest.mark.parametrize("data", [[SUBJECT_EMAIL], SUBJECT_EMAIL, 1])
def test_data_that_is_not_an_object_is_refused(data: Any) -> None:
    assert refusal(encoded({"status": "completed", "data": data})) == "data must be a JSON object"


def test_retained_that_is_not_a_list_is_refused() -> None:
    assert refusal(encoded({"status": "completed", "retained": INVOICES})) == "retained must be a JSON array"


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        (SUBJECT_EMAIL, "retained[1] must be a JSON object"),
        ({**INVOICES, "category": ""}, "retained[1].category must be a non-empty string"),
        ({"reason": "tax law", "until": None}, "retained[1].category must be a non-empty string"),
        ({**INVOICES, "reason": 7}, "retained[1].reason must be a non-empty string"),
        (
            {**INVOICES, "until": "ten years"},
            "retained[1].until must be an ISO 8601 date or date-time, or null",
        ),
        (
            {**INVOICES, "until": "2036-13-01"},
            "retained[1].until must be an ISO 8601 date or date-time, or null",
        ),
        (
            {**INVOICES, "until": "2036-01-15" + " " * 60},
            "retained[1].until must be an ISO 8601 date or date-time, or null",
        ),
        ({**INVOICES, "until": 2036}, "retained[1].until must be an ISO 8601 date or date-time, or null"),
        (
            {**INVOICES, "until": SUBJECT_EMAIL},
            "retained[1].until must be an ISO 8601 date or date-time, or null",
        ),
    ],
)
def test_a_malformed_retained_item_is_refused_by_its_position(item: Any, detail: str) -> None:
    assert refusal(encoded({"status": "completed", "retained": [INVOICES, item]})) == detail


def test_a_synchronous_answer_may_also_say_accepted() -> None:
    assert parse_answer(b'{"status":"accepted"}') == Accepted()
    assert parse_answer(b'{"status":"completed"}') == Completed(data={}, retained=())
    with pytest.raises(InvalidCompletion, match="must be completed or accepted"):
        parse_answer(b'{"status":"pending"}')


@pytest.mark.parametrize(
    ("body", "task_id"),
    [
        (encoded({"status": "completed", "task_id": "01TASK"}), "01TASK"),
        (encoded({"status": "completed"}), None),
        (encoded({"status": "completed", "task_id": ""}), None),
        (encoded({"status": "completed", "task_id": ["01TASK"]}), None),
        (encoded(["01TASK"]), None),
        (b"not json", None),
    ],
)
def test_a_callback_names_its_task_only_by_a_non_empty_string_task_id(
    body: bytes, task_id: str | None
) -> None:
    assert callback_task_id(body) == task_id
