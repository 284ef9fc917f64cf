"""Password hashes as a shop's old database stored them: recognised, bounded and verified.

A shop moving its customers here brings their hashes as its platform wrote
them; each customer logs in once with the old password, and the hash is then
replaced by argon2id (``PasswordHasher.verify`` reports ``needs_rehash``).
Supported, each exactly as the platform's own code checks it:

- ``BCRYPT``: ``$2a$``, ``$2b$``, ``$2y$`` (PHP ``password_hash``, most frameworks).
  bcrypt reads only the first 72 bytes of a password; the platforms that wrote
  these hashes (PHP's ``password_verify``, crypt(3)) silently ignore the rest,
  so the password is truncated to its first 72 UTF-8 bytes here too. A longer
  password therefore matches on its first 72 bytes alone, exactly as it did
  before the move, until the first login re-hashes it with argon2id, which
  has no such limit.
- ``WORDPRESS_BCRYPT``: ``$wp$2y$...``, WordPress 6.8+ (``wp_check_password``
  in ``wp-includes/pluggable.php``): bcrypt over
  ``base64(HMAC-SHA384(key="wp-sha384", message=password))``, which keeps
  every byte of long passwords. ``wp_hash_password`` trims the password before
  hashing but ``wp_check_password`` does not, so a password typed with
  surrounding spaces never matched in WordPress either; this check is the same.
- ``PHPASS``: ``$P$`` (WordPress before 6.8) and ``$H$`` (phpBB3, and
  WordPress's own ``PasswordHash`` class), iterated MD5.
- ``DJANGO_PBKDF2_SHA256``: ``pbkdf2_sha256$<iterations>$<salt>$<base64 hash>``.
- ``ARGON2``: PHC strings ``$argon2id$`` and ``$argon2i$`` (PHP, Django
  without its ``argon2`` prefix, most libraries).
- ``MAGENTO``: Magento 2 ``hash:salt:version`` (``Magento\\Framework\\Encryption\\Encryptor``),
  see ``_magento_stages``.

Every scheme is checked in full by ``identify`` before any work is done, and
its work factor is bounded (``MAX_*`` below): an imported hash cannot make a
login cost seconds of CPU or gigabytes of memory. Digests are compared in
constant time (``hmac.compare_digest``) or by the library that owns the
format. The password is used exactly as typed (UTF-8, no normalisation),
because that is what the old platform hashed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import bcrypt
from argon2 import Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from argon2.low_level import hash_secret_raw, verify_secret
from passlib.hash import phpass

from privacy_service.crypto.errors import InvalidPassword, UnsupportedHashFormat

#: bcrypt cost (log2 rounds); PHP's default is 10 (12 from PHP 8.4). Cost 16 takes seconds.
MAX_BCRYPT_COST = 16
#: phpass log2 rounds; WordPress writes 13 (``$P$B``), phpBB 11 (``$H$9``).
MAX_PHPASS_LOG2_ROUNDS = 18
#: Django 5.2 writes 1,000,000 and 6.0 writes 1,200,000; five times the newest default is the limit.
MAX_PBKDF2_ITERATIONS = 6_000_000
#: argon2 (PHC and Magento): PHP writes m=64 MiB, t=4; Django m=100 MiB, t=2, p=8; Magento 64 MiB, t=2.
MAX_ARGON2_MEMORY_KIB = 262_144
MAX_ARGON2_TIME_COST = 16
MAX_ARGON2_PARALLELISM = 16
#: Magento upgrades apply one version after another; real chains have two.
MAX_MAGENTO_STAGES = 4

#: wp_check_password and phpass' CheckPassword refuse longer passwords outright (bytes, as PHP's strlen).
_WORDPRESS_MAX_PASSWORD_BYTES = 4096
_BCRYPT_MAX_PASSWORD_BYTES = 72
_WORDPRESS_PREHASH_KEY = b"wp-sha384"

_BCRYPT = re.compile(r"\$2[aby]\$(?P<cost>\d\d)\$[./A-Za-z0-9]{53}", re.ASCII)
_PHPASS = re.compile(r"\$[PH]\$(?P<rounds>[./0-9A-Za-z])[./0-9A-Za-z]{30}", re.ASCII)
#: How a format names itself: modular crypt ``$id$`` (``$1$`` md5-crypt, ``$6$`` sha512-crypt), Django's
#: ``algorithm$`` (``pbkdf2_sha1$``), LDAP's ``{SCHEME}`` (``{SSHA}``). Short and fixed, never hash material.
_FORMAT_PREFIX = re.compile(
    r"\$[A-Za-z0-9_-]{1,20}\$|[A-Za-z][A-Za-z0-9_]{0,30}\$|\{[A-Za-z0-9_.-]{1,20}\}", re.ASCII
)
_PHPASS_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PHPASS_MIN_LOG2_ROUNDS = 7  # class-phpass.php crypt_private refuses fewer
_DJANGO_PBKDF2 = re.compile(
    r"pbkdf2_sha256\$(?P<iterations>[1-9]\d{0,8})\$(?P<salt>[^$]+)\$(?P<digest>[A-Za-z0-9+/]{43}=)", re.ASCII
)
_ARGON2_TYPES = {Type.ID, Type.I}
_ARGON2_MIN_SALT_BYTES = 8  # RFC 9106 §3.1; argon2 refuses shorter salts
_MAGENTO_ARGON2 = re.compile(r"3_(?P<seed>\d{1,3})_(?P<ops>\d{1,3})_(?P<mem>\d{1,12})", re.ASCII)
_MAGENTO_HEX = re.compile(r"[0-9a-f]+")
# libsodium's crypto_pwhash bounds (crypto_pwhash_BYTES_MIN, crypto_pwhash_MEMLIMIT_MIN) and salt size.
_SODIUM_MIN_OUTPUT_BYTES = 16
_SODIUM_MAX_OUTPUT_BYTES = 64
_SODIUM_MIN_MEMLIMIT = 8192
_SODIUM_SALT_BYTES = 16


class LegacyScheme(StrEnum):
    """A password hash format an imported account may carry."""

    ARGON2 = "argon2"
    BCRYPT = "bcrypt"
    DJANGO_PBKDF2_SHA256 = "django_pbkdf2_sha256"
    MAGENTO = "magento"
    PHPASS = "phpass"
    WORDPRESS_BCRYPT = "wordpress_bcrypt"


def identify(hash_string: str) -> LegacyScheme:
    """Return the scheme of ``hash_string`` after checking its whole syntax and its work factor.

    Raises ``UnsupportedHashFormat`` for anything else, including a supported
    format that asks for more work than the ``MAX_*`` limits. The hash must be
    exactly as stored: surrounding whitespace is not removed.
    """
    if hash_string.startswith("$wp$"):
        _check_bcrypt(hash_string[3:])
        return LegacyScheme.WORDPRESS_BCRYPT
    if hash_string.startswith("$2"):
        _check_bcrypt(hash_string)
        return LegacyScheme.BCRYPT
    if hash_string.startswith(("$P$", "$H$")):
        _check_phpass(hash_string)
        return LegacyScheme.PHPASS
    if hash_string.startswith("$argon2"):
        _check_argon2(hash_string)
        return LegacyScheme.ARGON2
    if hash_string.startswith("pbkdf2_sha256$"):
        _check_django_pbkdf2(hash_string)
        return LegacyScheme.DJANGO_PBKDF2_SHA256
    if ":" in hash_string:
        _magento_stages(hash_string)
        return LegacyScheme.MAGENTO
    raise UnsupportedHashFormat(_unsupported(hash_string))


def _unsupported(hash_string: str) -> str:
    """Name the format of a hash that no supported one matched by its prefix, never the hash itself."""
    prefix = _FORMAT_PREFIX.match(hash_string)
    if prefix is None:
        return "unsupported password hash format: no format prefix (such as $2b$ or pbkdf2_sha256$)"
    return f"unsupported password hash format: {prefix.group()}"


def verify_legacy(*, hash_string: str, password: str) -> LegacyScheme:
    """Check ``password`` against a legacy hash and return its scheme; raise ``InvalidPassword`` if wrong.

    Raises ``UnsupportedHashFormat`` if ``identify`` refuses the hash. A
    correct password means the caller should replace the hash with argon2id.
    """
    scheme = identify(hash_string)
    # surrogatepass: a lone surrogate cannot be typed into a web form, so it
    # simply matches nothing instead of failing to encode.
    secret = password.encode("utf-8", "surrogatepass")
    matched = _VERIFIERS[scheme](hash_string, secret)
    if not matched:
        raise InvalidPassword()
    return scheme


# bcrypt and WordPress 6.8+


def _check_bcrypt(hash_string: str) -> None:
    found = _BCRYPT.fullmatch(hash_string)
    if found is None:
        raise UnsupportedHashFormat("malformed bcrypt hash")
    cost = int(found["cost"])
    if not 4 <= cost <= MAX_BCRYPT_COST:
        raise UnsupportedHashFormat(f"bcrypt cost {cost} is outside 4..{MAX_BCRYPT_COST}")


def _verify_bcrypt(hash_string: str, secret: bytes) -> bool:
    # Only the first 72 bytes count, as in every bcrypt that wrote these hashes;
    # bcrypt >= 5 raises instead of truncating, so truncate here, on purpose.
    return bcrypt.checkpw(secret[:_BCRYPT_MAX_PASSWORD_BYTES], hash_string.encode("ascii"))


def _verify_wordpress_bcrypt(hash_string: str, secret: bytes) -> bool:
    if len(secret) > _WORDPRESS_MAX_PASSWORD_BYTES:
        return False
    # wp_check_password: base64_encode(hash_hmac('sha384', $password, 'wp-sha384', true)),
    # 64 characters, well under bcrypt's 72-byte limit.
    prehash = base64.b64encode(hmac.new(_WORDPRESS_PREHASH_KEY, secret, hashlib.sha384).digest())
    return bcrypt.checkpw(prehash, hash_string[3:].encode("ascii"))


# phpass


def _check_phpass(hash_string: str) -> None:
    found = _PHPASS.fullmatch(hash_string)
    if found is None:
        raise UnsupportedHashFormat("malformed phpass hash")
    log2_rounds = _PHPASS_ITOA64.index(found["rounds"])
    if not _PHPASS_MIN_LOG2_ROUNDS <= log2_rounds <= MAX_PHPASS_LOG2_ROUNDS:
        raise UnsupportedHashFormat(
            f"phpass log2 rounds {log2_rounds} outside {_PHPASS_MIN_LOG2_ROUNDS}..{MAX_PHPASS_LOG2_ROUNDS}"
        )


def _verify_phpass(hash_string: str, secret: bytes) -> bool:
    if len(secret) > _WORDPRESS_MAX_PASSWORD_BYTES:
        return False
    return bool(phpass.verify(secret, hash_string))


# argon2 (PHC string format)


def _check_argon2(hash_string: str) -> None:
    if not hash_string.isascii():  # extract_parameters would read non-ASCII digits as numbers
        raise UnsupportedHashFormat("malformed argon2 hash")
    try:
        parameters = extract_parameters(hash_string)
    except InvalidHashError:
        raise UnsupportedHashFormat("malformed argon2 hash") from None
    if parameters.type not in _ARGON2_TYPES:
        raise UnsupportedHashFormat("argon2d is not a password hash; only argon2id and argon2i are imported")
    if parameters.salt_len < _ARGON2_MIN_SALT_BYTES:
        raise UnsupportedHashFormat("argon2 salt is too short")
    if (
        parameters.memory_cost > MAX_ARGON2_MEMORY_KIB
        or parameters.time_cost > MAX_ARGON2_TIME_COST
        or parameters.parallelism > MAX_ARGON2_PARALLELISM
    ):
        raise UnsupportedHashFormat(
            f"argon2 parameters exceed m={MAX_ARGON2_MEMORY_KIB}, t={MAX_ARGON2_TIME_COST}, "
            f"p={MAX_ARGON2_PARALLELISM}"
        )


def _verify_argon2(hash_string: str, secret: bytes) -> bool:
    argon2_type = Type.ID if hash_string.startswith("$argon2id$") else Type.I
    try:
        return verify_secret(hash_string.encode("ascii"), secret, argon2_type)
    except VerifyMismatchError:
        return False


# Django PBKDF2-SHA256


def _check_django_pbkdf2(hash_string: str) -> None:
    found = _DJANGO_PBKDF2.fullmatch(hash_string)
    if found is None:
        raise UnsupportedHashFormat("malformed Django pbkdf2_sha256 hash")
    iterations = int(found["iterations"])
    if iterations > MAX_PBKDF2_ITERATIONS:
        raise UnsupportedHashFormat(f"PBKDF2 iterations {iterations} exceed {MAX_PBKDF2_ITERATIONS}")


def _verify_django_pbkdf2(hash_string: str, secret: bytes) -> bool:
    # django.contrib.auth.hashers.PBKDF2PasswordHasher: the salt is used as
    # its UTF-8 text, the 32-byte digest stored as standard base64.
    _, iterations, salt, stored = hash_string.split("$")
    digest = hashlib.pbkdf2_hmac("sha256", secret, salt.encode(), int(iterations))
    return hmac.compare_digest(base64.b64encode(digest), stored.encode("ascii"))


# Magento 2


@dataclass(frozen=True, slots=True)
class _MagentoDigest:
    """Versions 0 and 1: ``hash(salt . input)`` in hex."""

    algorithm: str  # "md5" or "sha256"


@dataclass(frozen=True, slots=True)
class _MagentoArgon2:
    """Versions 2 and ``3_seed_ops_mem``: libsodium ``crypto_pwhash`` argon2id13, output in hex."""

    output_bytes: int
    opslimit: int
    memlimit: int  # bytes, as libsodium takes it


_MagentoStage = _MagentoDigest | _MagentoArgon2

# Version 2 takes the interactive limits from the running PHP:
# SODIUM_CRYPTO_SIGN_SEEDBYTES, ..._OPSLIMIT_INTERACTIVE, ..._MEMLIMIT_INTERACTIVE.
_MAGENTO_INTERACTIVE = _MagentoArgon2(output_bytes=32, opslimit=2, memlimit=67_108_864)
_DIGEST_HEX = {"md5": 32, "sha256": 64}
_MAGENTO_VERSIONS: dict[str, _MagentoStage] = {
    "0": _MagentoDigest("md5"),
    "1": _MagentoDigest("sha256"),
    "2": _MAGENTO_INTERACTIVE,
}


def _magento_stages(hash_string: str) -> tuple[str, bytes, tuple[_MagentoStage, ...]]:
    """Split a Magento 2 hash into its stored hex digest, its salt and the versions applied in turn.

    ``Encryptor::isValidHash`` explodes ``hash:salt:versions`` at the first two
    colons; the versions part lists every algorithm the hash went through,
    oldest first (``customer:hash:upgrade`` appends one, hashing the old hex
    digest again, so ``1:3_32_2_67108864`` is argon2id over the hex SHA-256).
    """
    parts = hash_string.split(":", 2)
    if len(parts) != 3:
        raise UnsupportedHashFormat("malformed Magento hash: expected hash:salt:version")
    stored, salt, versions = parts
    stages = tuple(_magento_stage(version) for version in versions.split(":"))
    if len(stages) > MAX_MAGENTO_STAGES:
        raise UnsupportedHashFormat(f"Magento hash chains more than {MAX_MAGENTO_STAGES} versions")
    if not salt and any(isinstance(stage, _MagentoArgon2) for stage in stages):
        # PHP's str_pad with an empty pad string throws: Magento itself cannot verify it.
        raise UnsupportedHashFormat("Magento argon2 hash without a salt")
    last = stages[-1]
    expected_hex = 2 * last.output_bytes if isinstance(last, _MagentoArgon2) else _DIGEST_HEX[last.algorithm]
    if len(stored) != expected_hex or _MAGENTO_HEX.fullmatch(stored) is None:
        raise UnsupportedHashFormat("malformed Magento hash: digest is not lowercase hex of the right length")
    return stored, salt.encode(), stages


def _magento_stage(version: str) -> _MagentoStage:
    known = _MAGENTO_VERSIONS.get(version)
    if known is not None:
        return known
    found = _MAGENTO_ARGON2.fullmatch(version)
    if found is None:
        raise UnsupportedHashFormat("unknown Magento hash version")
    stage = _MagentoArgon2(
        output_bytes=int(found["seed"]), opslimit=int(found["ops"]), memlimit=int(found["mem"])
    )
    if not (
        _SODIUM_MIN_OUTPUT_BYTES <= stage.output_bytes <= _SODIUM_MAX_OUTPUT_BYTES
        and 1 <= stage.opslimit <= MAX_ARGON2_TIME_COST
        and _SODIUM_MIN_MEMLIMIT <= stage.memlimit <= MAX_ARGON2_MEMORY_KIB * 1024
    ):
        raise UnsupportedHashFormat("Magento argon2 parameters are outside the accepted limits")
    return stage


def _verify_magento(hash_string: str, secret: bytes) -> bool:
    stored, salt, stages = _magento_stages(hash_string)
    recreated = secret
    for stage in stages:
        if isinstance(stage, _MagentoArgon2):
            recreated = _magento_argon2(recreated, salt=salt, stage=stage)
        else:
            # A legacy format being retired, not a choice of hash: hence usedforsecurity=False.
            digest = hashlib.new(stage.algorithm, salt + recreated, usedforsecurity=False)
            recreated = digest.hexdigest().encode()
    return hmac.compare_digest(recreated, stored.encode("ascii"))


def _magento_argon2(data: bytes, *, salt: bytes, stage: _MagentoArgon2) -> bytes:
    """``Encryptor::getArgonHash``: the salt is cut or padded to 16 bytes, the output hex-encoded.

    A salt shorter than SODIUM_CRYPTO_PWHASH_SALTBYTES is padded with copies of
    itself (``str_pad($salt, 16, $salt)``), a longer one is truncated; the
    default 32-character salt therefore contributes only its first 16 bytes.
    libsodium runs argon2id v1.3 with one lane and ``memlimit`` in bytes.
    """
    salt = (salt * -(-_SODIUM_SALT_BYTES // len(salt)))[:_SODIUM_SALT_BYTES]
    digest = hash_secret_raw(
        secret=data,
        salt=salt,
        time_cost=stage.opslimit,
        memory_cost=stage.memlimit // 1024,
        parallelism=1,
        hash_len=stage.output_bytes,
        type=Type.ID,
        version=0x13,
    )
    return digest.hex().encode()


_VERIFIERS: dict[LegacyScheme, Callable[[str, bytes], bool]] = {
    LegacyScheme.ARGON2: _verify_argon2,
    LegacyScheme.BCRYPT: _verify_bcrypt,
    LegacyScheme.DJANGO_PBKDF2_SHA256: _verify_django_pbkdf2,
    LegacyScheme.MAGENTO: _verify_magento,
    LegacyScheme.PHPASS: _verify_phpass,
    LegacyScheme.WORDPRESS_BCRYPT: _verify_wordpress_bcrypt,
}
