"""Legacy password hashes: each platform's real hashes verify; wrong passwords and bad hashes do not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from argon2 import Type
from argon2.low_level import hash_secret
from passlib.hash import phpass

from privacy_service.crypto import (
    InvalidPassword,
    LegacyScheme,
    UnsupportedHashFormat,
    identify,
    verify_legacy,
)
from privacy_service.crypto.legacy_hashes import (
    MAX_ARGON2_MEMORY_KIB,
    MAX_BCRYPT_COST,
    MAX_MAGENTO_STAGES,
    MAX_PBKDF2_ITERATIONS,
)

VECTORS_FILE = Path(__file__).parents[2] / "vectors" / "legacy_password_hashes.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
FAST = [vector for vector in VECTORS if not vector.get("slow")]
SLOW = [vector for vector in VECTORS if vector.get("slow")]


def _vector_id(vector: dict[str, Any]) -> str:
    return f"{vector['scheme']}:{vector.get('note') or vector['source']}"


def _vector(scheme: str, note: str) -> dict[str, Any]:
    return next(v for v in VECTORS if v["scheme"] == scheme and v.get("note") == note)


def test_the_vectors_cover_every_scheme_and_magento_version() -> None:
    assert {vector["scheme"] for vector in VECTORS} == set(LegacyScheme)
    magento_versions = {
        vector["hash"].split(":", 2)[2] for vector in VECTORS if vector["scheme"] == "magento"
    }
    assert {"0", "1", "2", "3_32_2_67108864", "1:3_32_2_67108864", "0:3_32_1_8192"} <= magento_versions
    assert {vector["hash"][:4] for vector in VECTORS if vector["scheme"] == "bcrypt"} == {
        "$2a$",
        "$2b$",
        "$2y$",
    }


@pytest.mark.parametrize("vector", FAST, ids=_vector_id)
def test_a_reference_hash_is_identified_and_verifies_with_its_password(vector: dict[str, Any]) -> None:
    scheme = LegacyScheme(vector["scheme"])
    assert identify(vector["hash"]) is scheme
    assert verify_legacy(hash_string=vector["hash"], password=vector["password"]) is scheme


@pytest.mark.parametrize("vector", FAST, ids=_vector_id)
def test_a_reference_hash_refuses_a_wrong_password(vector: dict[str, Any]) -> None:
    with pytest.raises(InvalidPassword):
        verify_legacy(hash_string=vector["hash"], password="x" + vector["password"])


def test_reference_hashes_at_the_platforms_real_work_factors_verify() -> None:
    """The one slow test: Magento's 64 MiB argon2id, Django's 10**6 PBKDF2 rounds, reference argon2."""
    for vector in SLOW:
        verified = verify_legacy(hash_string=vector["hash"], password=vector["password"])
        assert verified is LegacyScheme(vector["scheme"]), vector["source"]
    with pytest.raises(InvalidPassword):
        verify_legacy(hash_string=SLOW[-1]["hash"], password="wrong")


def test_bcrypt_reads_only_the_first_72_bytes_as_the_platforms_that_wrote_it_did() -> None:
    vector = _vector("bcrypt", "longer than 72 bytes")
    password = vector["password"]
    assert len(password.encode()) > 72
    verify_legacy(hash_string=vector["hash"], password=password[:72])
    verify_legacy(hash_string=vector["hash"], password=password[:72] + "anything else")
    with pytest.raises(InvalidPassword):
        verify_legacy(hash_string=vector["hash"], password=password[:71])


def test_wordpress_bcrypt_keeps_every_byte_of_a_long_password() -> None:
    vector = _vector("wordpress_bcrypt", "longer than 72 bytes: the HMAC pre-hash keeps every byte")
    assert len(vector["password"].encode()) > 72
    with pytest.raises(InvalidPassword):
        verify_legacy(hash_string=vector["hash"], password=vector["password"][:72])


def test_wordpress_checks_the_password_untrimmed_although_it_hashed_it_trimmed() -> None:
    vector = _vector(
        "wordpress_bcrypt", 'hashed from "  padded  ": wp_hash_password trims, wp_check_password does not'
    )
    verify_legacy(hash_string=vector["hash"], password="padded")
    with pytest.raises(InvalidPassword):
        verify_legacy(hash_string=vector["hash"], password="  padded  ")


def test_wordpress_formats_refuse_passwords_over_4096_bytes_as_wordpress_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password = "a" * 4097
    wordpress_prehash = base64.b64encode(hmac.new(b"wp-sha384", password.encode(), hashlib.sha384).digest())
    wordpress_hash = "$wp" + bcrypt.hashpw(wordpress_prehash, bcrypt.gensalt(4)).decode()
    monkeypatch.setattr("passlib.utils.handlers.MAX_PASSWORD_SIZE", 8192)  # to make a matching hash at all
    phpass_hash = phpass.using(rounds=7).hash(password)
    for hash_string in (wordpress_hash, phpass_hash):
        with pytest.raises(InvalidPassword):
            verify_legacy(hash_string=hash_string, password=password)
    verify_legacy(hash_string=phpass.using(rounds=7).hash(password[:4096]), password=password[:4096])


def test_a_password_with_a_lone_surrogate_is_a_wrong_password_not_a_crash() -> None:
    vector = FAST[0]
    with pytest.raises(InvalidPassword):
        verify_legacy(hash_string=vector["hash"], password="\ud800")


def _argon2(argon2_type: Type) -> str:
    return hash_secret(
        b"secret", b"somesalt", time_cost=1, memory_cost=8, parallelism=1, hash_len=32, type=argon2_type
    ).decode()


BCRYPT_BODY = "CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
MAGENTO_SHA256 = "a" * 64
MAGENTO_ARGON2 = "b" * 64


@pytest.mark.parametrize(
    "hash_string",
    [
        pytest.param("", id="empty"),
        pytest.param("hunter2", id="plain text"),
        pytest.param("5f4dcc3b5aa765d61d8327deb882cf99", id="unsalted md5"),
        pytest.param("!unusable", id="django unusable password"),
        pytest.param("sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8", id="django sha1"),
        pytest.param("$2a$05$short", id="bcrypt truncated"),
        pytest.param(f"$2x$05${BCRYPT_BODY}", id="bcrypt 2x"),
        pytest.param(f"$2a$03${BCRYPT_BODY}", id="bcrypt cost below 4"),
        pytest.param(f"$2a${MAX_BCRYPT_COST + 1}${BCRYPT_BODY}", id="bcrypt cost over the limit"),
        pytest.param(f"$2a$05${BCRYPT_BODY} ", id="bcrypt with trailing space"),
        pytest.param(f"$2a$\u0660\u0665${BCRYPT_BODY}", id="bcrypt cost in arabic-indic digits"),
        pytest.param(f"$wp$2y${MAX_BCRYPT_COST + 1}${BCRYPT_BODY}", id="wordpress cost over the limit"),
        pytest.param("$wp$P$BXxusGDAoYu6rxsIKY00F7yt1.OkYj/", id="wordpress prefix on phpass"),
        pytest.param("$P$BXxusGDAoYu6rxsIKY00F7yt1.OkYj", id="phpass truncated"),
        pytest.param("$P$4" + "x" * 30, id="phpass rounds below 2^7"),
        pytest.param("$P$Z" + "x" * 30, id="phpass rounds over the limit"),
        pytest.param("$S$D" + "x" * 30, id="drupal sha512 phpass"),
        pytest.param("$argon2id$v=19$garbage", id="argon2 malformed"),
        pytest.param(_argon2(Type.D), id="argon2d"),
        pytest.param(_argon2(Type.ID).replace("m=8,", "m=\u0668,"), id="argon2 non-ascii digits"),
        pytest.param(_argon2(Type.ID).replace("$c29tZXNhbHQ$", "$c2hvcnQ$"), id="argon2 salt under 8 bytes"),
        pytest.param(
            _argon2(Type.ID).replace("m=8,", f"m={MAX_ARGON2_MEMORY_KIB + 1},"),
            id="argon2 memory over the limit",
        ),
        pytest.param(_argon2(Type.ID).replace("t=1,", "t=17,"), id="argon2 time over the limit"),
        pytest.param(_argon2(Type.ID).replace("p=1$", "p=17$"), id="argon2 lanes over the limit"),
        pytest.param("pbkdf2_sha256$390000$seasalt$tooshort=", id="django digest malformed"),
        pytest.param(
            "pbkdf2_sha256$0$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=", id="django zero"
        ),
        pytest.param(
            f"pbkdf2_sha256${MAX_PBKDF2_ITERATIONS + 1}$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=",
            id="django iterations over the limit",
        ),
        pytest.param(
            "pbkdf2_sha256$390000$$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=", id="django no salt"
        ),
        pytest.param(f"{MAGENTO_SHA256}:salt", id="magento without version"),
        pytest.param(f"{MAGENTO_SHA256}:salt:", id="magento empty version"),
        pytest.param(f"{MAGENTO_SHA256}:salt:9", id="magento unknown version"),
        pytest.param(f"{MAGENTO_SHA256}:salt:3", id="magento bare 3"),
        pytest.param(f"{MAGENTO_SHA256}:salt:01", id="magento padded version"),
        pytest.param(f"{MAGENTO_ARGON2}:salt:3_\u0663\u0662_1_8192", id="magento non-ascii digits"),
        pytest.param(f"{MAGENTO_ARGON2}:salt:3_32_2_4096", id="magento memlimit under libsodium's minimum"),
        pytest.param(f"{MAGENTO_ARGON2}:salt:3_32_17_8192", id="magento opslimit over the limit"),
        pytest.param(f"{MAGENTO_ARGON2}:salt:3_32_0_8192", id="magento opslimit zero"),
        pytest.param(f"{'b' * 30}:salt:3_15_1_8192", id="magento output under 16 bytes"),
        pytest.param(f"{'b' * 130}:salt:3_65_1_8192", id="magento output over 64 bytes"),
        pytest.param(
            f"{MAGENTO_ARGON2}:salt:3_32_2_{MAX_ARGON2_MEMORY_KIB * 1024 + 1024}", id="magento memlimit over"
        ),
        pytest.param(f"{MAGENTO_ARGON2}::3_32_2_67108864", id="magento argon2 without salt"),
        pytest.param(
            f"{MAGENTO_ARGON2}:salt:" + ":".join(["1"] * MAX_MAGENTO_STAGES + ["3_32_1_8192"]),
            id="magento chain too long",
        ),
        pytest.param(f"{'a' * 63}:salt:1", id="magento digest too short"),
        pytest.param(f"{MAGENTO_SHA256}:salt:0", id="magento digest length of another version"),
        pytest.param(f"{'A' * 64}:salt:1", id="magento uppercase hex"),
        pytest.param(f"{'g' * 64}:salt:1", id="magento not hex"),
    ],
)
def test_anything_else_is_an_unsupported_hash_format(hash_string: str) -> None:
    with pytest.raises(UnsupportedHashFormat) as raised:
        identify(hash_string)
    assert raised.value.code == "unsupported_hash_format"
    assert raised.value.status == 422
    if len(hash_string) > 8:
        assert hash_string not in raised.value.detail  # a hash is a secret: never echoed
    with pytest.raises(UnsupportedHashFormat):
        verify_legacy(hash_string=hash_string, password="secret")


@pytest.mark.parametrize(
    ("hash_string", "named"),
    [
        pytest.param("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "$1$", id="md5-crypt"),
        pytest.param("$6$rounds=5000$saltsalt$" + "x" * 86, "$6$", id="sha512-crypt"),
        pytest.param("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$" + "X" * 43, "$y$", id="yescrypt"),
        pytest.param("pbkdf2_sha1$260000$salt$" + "A" * 28, "pbkdf2_sha1$", id="django pbkdf2_sha1"),
        pytest.param("bcrypt_sha256$$2b$12$" + "a" * 53, "bcrypt_sha256$", id="django bcrypt_sha256"),
        pytest.param("{SSHA}" + "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SSHA}", id="ldap ssha"),
    ],
)
def test_an_unsupported_format_is_named_by_its_prefix_and_the_hash_is_not_echoed(
    hash_string: str, named: str
) -> None:
    with pytest.raises(UnsupportedHashFormat) as raised:
        identify(hash_string)
    assert raised.value.detail == f"unsupported password hash format: {named}"
    assert hash_string[len(named) :] not in raised.value.detail


def test_a_hash_without_a_format_prefix_is_said_to_have_none() -> None:
    md5 = "5f4dcc3b5aa765d61d8327deb882cf99"
    with pytest.raises(UnsupportedHashFormat) as raised:
        identify(md5)
    assert raised.value.detail.startswith("unsupported password hash format: no format prefix")
    assert md5 not in raised.value.detail


def test_limits_are_inclusive() -> None:
    at_the_limit = _argon2(Type.ID).replace("m=8,", f"m={MAX_ARGON2_MEMORY_KIB},")
    assert identify(at_the_limit) is LegacyScheme.ARGON2
    assert identify(f"{MAGENTO_SHA256}:salt:" + ":".join(["1"] * MAX_MAGENTO_STAGES)) is LegacyScheme.MAGENTO
    assert identify(f"{MAGENTO_SHA256}::1") is LegacyScheme.MAGENTO  # sha256 needs no salt
