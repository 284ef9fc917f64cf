"""The edge of the vault: what a profile, a change and a record must look like, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from privacy_service.vault.schemas import (
    MAX_EMAIL_LENGTH,
    MAX_EXTRA_BYTES,
    MAX_NAME_LENGTH,
    ProfileFields,
    ProfileUpdate,
    RecordCategory,
    RecordData,
)


def _error_of(field: str, value: Any, **others: Any) -> str:
    with pytest.raises(ValidationError) as refused:
        ProfileFields.model_validate({"email": "alice@example.com", **others, field: value})
    (error,) = refused.value.errors()
    assert error["loc"][0] == field
    return str(error["msg"])


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  Alice.Smith+shop@Example.COM\n", "Alice.Smith+shop@Example.COM"),
        ("jürgen@müller.example", "jürgen@müller.example"),  # RFC 6531 and IDNA
        ("o'brien@sub.example.co.uk", "o'brien@sub.example.co.uk"),
        ("\uff21lice@example.com", "\uff21lice@example.com"),  # kept as sent; the blind index folds it
    ],
)
def test_an_email_is_accepted_trimmed_and_otherwise_as_sent(sent: str, kept: str) -> None:
    assert ProfileFields(email=sent).email == kept


@pytest.mark.parametrize(
    "email",
    [
        "",
        "alice",
        "alice@",
        "@example.com",
        "alice@example",
        "alice@example..com",
        "alice@.example.com",
        "alice@-example.com",
        "alice@example-.com",
        "alice@exa_mple.com",
        "alice@exa mple.com",
        "al ice@example.com",
        "alice..smith@example.com",
        ".alice@example.com",
        "alice.@example.com",
        '"alice"@example.com',
        "alice@bob@example.com",
        "ali\x00ce@example.com",
        "ali\u202ece@example.com",
        "a" * 65 + "@example.com",
        "alice@" + "a" * 64 + ".com",
        "a@" + ("b" * 60 + ".") * 5 + "com",  # longer than MAX_EMAIL_LENGTH
    ],
)
def test_what_is_not_an_email_address_is_refused_without_echoing_it(email: str) -> None:
    message = _error_of("email", email)
    assert email.strip() == "" or email not in message


def test_the_longest_email_address_is_accepted() -> None:
    email = "a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 61])
    assert len(email) == MAX_EMAIL_LENGTH
    assert ProfileFields(email=email).email == email


def test_names_are_trimmed_and_may_use_any_script() -> None:
    profile = ProfileFields(email="a@example.com", given_name="  José María ", family_name="محمد\u200cی")
    assert (profile.given_name, profile.family_name) == ("José María", "محمد\u200cی")  # ZWNJ kept


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "x" * (MAX_NAME_LENGTH + 1),
        "Alice\nBob",
        "Alice\rBob",
        "Al\x07ice",
        "Ali\u2028ce",
        "\u202eecilA",
    ],
)
def test_empty_overlong_or_multi_line_names_are_refused(name: str) -> None:
    _error_of("given_name", name)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("+49 30 1234567", "+49 30 1234567"), ("(030) 123-45.67", "(030) 123-45.67"), (" 112 ", "112")],
)
def test_a_phone_number_keeps_its_formatting(sent: str, kept: str) -> None:
    assert ProfileFields(email="a@example.com", phone=sent).phone == kept


@pytest.mark.parametrize(
    "phone", ["12", "call me", "+49 30 1234567 ext. 12", "1" * 21, "++4930123", "0" * 33]
)
def test_what_is_not_a_phone_number_is_refused(phone: str) -> None:
    _error_of("phone", phone)


@pytest.mark.parametrize(("sent", "kept"), [("de", "DE"), ("Jp", "JP"), (" FR ", "FR")])
def test_a_country_code_is_upper_cased(sent: str, kept: str) -> None:
    assert ProfileFields(email="a@example.com", country=sent).country == kept


@pytest.mark.parametrize("country", ["", "D", "DEU", "D1", "ÄÖ", "Germany"])
def test_what_is_not_an_alpha_2_country_code_is_refused(country: str) -> None:
    _error_of("country", country)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("de", "de"),
        ("en_us", "en-US"),
        ("EN-gb", "en-GB"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("sr-Latn-RS", "sr-Latn-RS"),
        ("de-CH-1996", "de-CH-1996"),
    ],
)
def test_a_locale_is_put_in_the_conventional_case_of_bcp_47(sent: str, kept: str) -> None:
    assert ProfileFields(email="a@example.com", locale=sent).locale == kept


@pytest.mark.parametrize(
    "locale", ["", "e", "english", "en--US", "en-", "en-toolongsubtag", "en US", "en-" + "a1-" * 11 + "x"]
)
def test_what_is_not_a_language_tag_is_refused(locale: str) -> None:
    _error_of("locale", locale)


def test_extra_takes_any_json_object_within_bounds() -> None:
    extra = {"tags": ["vip", 3, 2.5, None, True], "nested": {"a": {"b": []}}}
    assert ProfileFields(email="a@example.com", extra=extra).extra == extra
    assert "at most" in _error_of("extra", {"blob": "x" * MAX_EXTRA_BYTES})
    assert "NaN" in _error_of("extra", {"ratio": float("nan")})


def test_unknown_profile_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="date_of_birth"):
        ProfileFields.model_validate({"email": "a@example.com", "date_of_birth": "1990-01-01"})
    with pytest.raises(ValidationError, match="date_of_birth"):
        ProfileUpdate.model_validate({"date_of_birth": "1990-01-01"})


def test_an_update_reports_only_the_fields_that_were_sent() -> None:
    assert ProfileUpdate().sent() == {}
    assert ProfileUpdate(given_name=" Ann ").sent() == {"given_name": "Ann"}
    assert ProfileUpdate.model_validate({"phone": None, "country": "nl"}).sent() == {
        "phone": None,
        "country": "NL",
    }
    assert ProfileUpdate.model_validate({"extra": None}).sent() == {"extra": {}}
    assert ProfileUpdate.model_validate({"extra": {"a": 1}}).sent() == {"extra": {"a": 1}}


def test_an_update_can_change_the_email_but_not_clear_it() -> None:
    assert ProfileUpdate(email=" new@example.com ").sent() == {"email": "new@example.com"}
    with pytest.raises(ValidationError) as refused:
        ProfileUpdate.model_validate({"email": None})
    assert refused.value.errors()[0]["loc"] == ("email",)
    with pytest.raises(ValidationError):
        ProfileUpdate.model_validate({"email": "not-an-address"})


@pytest.mark.parametrize("category", ["address", "tax_id", "a", "phone2", "a" * 64])
def test_a_record_category_is_a_lowercase_label(category: str) -> None:
    assert TypeAdapter(RecordCategory).validate_python(category) == category


@pytest.mark.parametrize("category", ["", "Address", "2fa", "tax-id", "a" * 65, "adresse_é", "address\n"])
def test_what_is_not_a_record_category_is_refused(category: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(RecordCategory).validate_python(category)


def test_record_data_is_a_json_object() -> None:
    adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(RecordData)
    assert adapter.validate_python({"street": "Hauptstraße 1"}) == {"street": "Hauptstraße 1"}
    assert adapter.validate_json('{"lines": ["a", "b"], "floor": 3}') == {"lines": ["a", "b"], "floor": 3}
    with pytest.raises(ValidationError):
        adapter.validate_json('["not", "an", "object"]')
