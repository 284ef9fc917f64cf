from __future__ import annotations

import pytest

from privacy_service.crypto import FieldContext


def test_a_context_is_a_value_equal_by_its_place() -> None:
    first = FieldContext(table="profiles", column="email", subject_id="s1")
    same = FieldContext(table="profiles", column="email", subject_id="s1")
    other = FieldContext(table="profiles", column="email", subject_id="s2")
    assert first == same
    assert hash(first) == hash(same)
    assert first != other
    assert first != ("profiles", "email", "s1")
    assert repr(first) == "FieldContext(table='profiles', column='email', subject_id='s1')"


def test_a_context_cannot_be_changed_after_it_is_built() -> None:
    context = FieldContext(table="profiles", column="email", subject_id="s1")
    with pytest.raises(AttributeError, match="immutable"):
        context.subject_id = "s2"
    assert context.associated_data.endswith(b"s1")


def test_the_encoding_is_length_prefixed_per_part() -> None:
    context = FieldContext(table="ab", column="c", subject_id="s")
    assert context.associated_data == b"\x00\x00\x00\x02ab\x00\x00\x00\x01c\x00\x00\x00\x01s"
