"""Records: one encrypted JSON object per subject and category; stored, replaced, read back or refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_service.core.clock import FrozenClock
from privacy_service.keys.service import Keyring
from privacy_service.vault import service
from privacy_service.vault.errors import InvalidRecord, RecordNotFound, SubjectNotFound
from privacy_service.vault.models import PersonalRecord
from privacy_service.vault.schemas import MAX_JSON_DEPTH, MAX_RECORD_BYTES
from privacy_service.work import Work
from tests.unit.vault.sample_profiles import ALICE, NewSubject

ADDRESS = {"street": "Königsallee 92a", "postcode": "40212", "city": "Düsseldorf", "lines": ["c/o Ōtani"]}
TAX_ID = {"scheme": "de_vat", "value": "DE123456789"}


def put(work: Work, subject_id: str, category: str, data: Any) -> None:
    service.put_record(work, subject_id=subject_id, category=category, data=data)


def get(work: Work, subject_id: str, category: str) -> dict[str, Any]:
    return service.get_record(work, subject_id=subject_id, category=category)


def test_a_record_reads_back_as_stored(work: Work, keyring: Keyring, new_subject: NewSubject) -> None:
    subject_id = new_subject(ALICE)
    put(work, subject_id, "address", ADDRESS)
    put(work, subject_id, "tax_id", TAX_ID)
    keyring.forget_cached()

    assert get(work, subject_id, "address") == ADDRESS
    assert get(work, subject_id, "tax_id") == TAX_ID
    assert service.list_categories(work, subject_id=subject_id) == [
        "address",
        "tax_id",
    ]


def test_putting_a_record_again_replaces_it_and_keeps_its_creation_time(
    work: Work, session: Session, clock: FrozenClock, new_subject: NewSubject
) -> None:
    subject_id = new_subject(ALICE)
    put(work, subject_id, "address", ADDRESS)
    assert get(work, subject_id, "address") == ADDRESS
    created_at = clock.now()
    clock.advance(timedelta(days=2))

    moved = {"street": "Rue de Rivoli 1", "city": "Paris"}
    put(work, subject_id, "address", moved)

    assert get(work, subject_id, "address") == moved
    rows = session.execute(
        select(PersonalRecord.created_at, PersonalRecord.updated_at).where(
            PersonalRecord.subject_id == subject_id
        )
    ).all()
    assert rows == [(created_at, clock.now())]


def test_an_empty_object_is_a_record_too(work: Work, new_subject: NewSubject) -> None:
    subject_id = new_subject()
    put(work, subject_id, "consents", {})

    assert get(work, subject_id, "consents") == {}


def test_a_category_with_no_record_is_not_found(work: Work, new_subject: NewSubject) -> None:
    subject_id = new_subject(ALICE)
    put(work, subject_id, "address", ADDRESS)

    with pytest.raises(RecordNotFound) as missing:
        get(work, subject_id, "tax_id")
    assert (missing.value.status, missing.value.code) == (404, "record_not_found")
    with pytest.raises(RecordNotFound):
        get(work, subject_id, "Not A Category")
    assert service.list_categories(work, subject_id=new_subject()) == []


def test_records_of_an_unknown_subject_are_not_found(work: Work) -> None:
    nobody = "0" * 26
    with pytest.raises(SubjectNotFound):
        put(work, nobody, "address", ADDRESS)
    with pytest.raises(SubjectNotFound):
        get(work, nobody, "address")
    with pytest.raises(SubjectNotFound):
        service.list_categories(work, subject_id=nobody)


@pytest.mark.parametrize(
    "category",
    ["", "Address", "1st_address", "_address", "tax-id", "home address", "adresse_é", "a" * 65, "address\n"],
)
def test_a_malformed_category_is_refused_before_anything_is_stored(
    category: str, work: Work, new_subject: NewSubject
) -> None:
    subject_id = new_subject()

    with pytest.raises(InvalidRecord) as refused:
        put(work, subject_id, category, ADDRESS)

    assert (refused.value.status, refused.value.code) == (422, "invalid_record")
    assert refused.value.detail.startswith("category:")
    assert service.list_categories(work, subject_id=subject_id) == []


def test_the_longest_category_is_accepted(work: Work, new_subject: NewSubject) -> None:
    subject_id, category = new_subject(), "a" + "_9" * 31 + "z"
    assert len(category) == 64

    put(work, subject_id, category, TAX_ID)

    assert get(work, subject_id, category) == TAX_ID


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"inner": value}
    return value


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"note": "x" * MAX_RECORD_BYTES}, f"at most {MAX_RECORD_BYTES} bytes"),
        ({"weight": float("nan")}, "NaN"),
        ({"weight": float("inf")}, "NaN or infinite"),
        (_nested(MAX_JSON_DEPTH + 1), f"at most {MAX_JSON_DEPTH} levels"),
        ({"when": {1, 2}}, "data.when"),
        ({"secret-bytes": b"\x00\x01"}, "data.secret-bytes"),
        (["not", "an", "object"], "data: Input should be a valid dictionary"),
    ],
)
def test_record_data_that_is_not_a_bounded_json_object_is_refused_without_echoing_it(
    data: Any, problem: str, work: Work, new_subject: NewSubject
) -> None:
    subject_id = new_subject()

    with pytest.raises(InvalidRecord) as refused:
        put(work, subject_id, "notes", data)

    assert problem in refused.value.detail
    assert "xxxxxxxx" not in refused.value.detail
    assert "\\x00" not in refused.value.detail


def test_data_nested_exactly_to_the_limit_is_accepted(work: Work, new_subject: NewSubject) -> None:
    subject_id = new_subject()
    put(work, subject_id, "deep", _nested(MAX_JSON_DEPTH))

    assert get(work, subject_id, "deep") == _nested(MAX_JSON_DEPTH)
