"""``privacy-service users import`` reads each line on its own: an unreadable line is named by its problem.

The message goes to the operator's terminal and CI logs, so it names the
problem and never a value of the line (an email, a hash, a profile field).
"""

from __future__ import annotations

import json

import pytest

from privacy_service.cli.accounts import MAX_IMPORT_LINE_BYTES, ImportLineError, _parse_import_line

SECRET_VALUE = "ada@example.net"
GOOD = {"email": SECRET_VALUE, "password_hash": "$2b$12$" + "a" * 53, "country": "DE"}


def line(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param(b"{" + SECRET_VALUE.encode(), "not a JSON object", id="not JSON"),
        pytest.param(b"\xff\xfe" + SECRET_VALUE.encode(), "not a JSON object", id="not UTF-8"),
        pytest.param(line([SECRET_VALUE]), "not a JSON object", id="a list"),
        pytest.param(line({**GOOD, "country": ""}), "missing or empty field 'country'", id="empty field"),
        pytest.param(line({"email": SECRET_VALUE, "country": "DE"}), "missing or empty field 'password_hash'",
                     id="missing field"),
        pytest.param(line({**GOOD, "email": 42}), "missing or empty field 'email'", id="not a string"),
        pytest.param(line({**GOOD, "profile": [SECRET_VALUE]}), "'profile' must be a JSON object",
                     id="profile not an object"),
        pytest.param(line({**GOOD, "phone": SECRET_VALUE}), "unknown field 'phone'", id="unknown field"),
        pytest.param(line({**GOOD, "profile": {"note": "x" * MAX_IMPORT_LINE_BYTES}}),
                     f"line longer than {MAX_IMPORT_LINE_BYTES} bytes", id="too long"),
    ],
)  # fmt: skip
def test_an_unreadable_line_is_refused_naming_its_problem_and_no_value(raw: bytes, problem: str) -> None:
    with pytest.raises(ImportLineError) as refusal:
        _parse_import_line(raw)

    assert str(refusal.value) == problem
    assert SECRET_VALUE not in str(refusal.value)


def test_a_complete_line_is_read_with_its_profile() -> None:
    account = _parse_import_line(line({**GOOD, "profile": {"name": "Ada"}}) + b"\n")

    assert account == {**GOOD, "profile": {"name": "Ada"}}
