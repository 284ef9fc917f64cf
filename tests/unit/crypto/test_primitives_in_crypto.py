"""Keyed hashing stays in crypto/, where import-linter cannot see: plain hashlib digests are allowed anywhere.

The import-linter contracts keep ``hmac`` and ``joserfc`` in crypto/; ``hashlib``
must stay importable for unkeyed digests of non-secret data (a token's SHA-256
as a cache key). A keyed call is found here instead, in the source of every
module outside crypto/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import privacy_service

PACKAGE = Path(privacy_service.__file__).parent
OUTSIDE_CRYPTO = sorted(
    path for path in PACKAGE.rglob("*.py") if "crypto" not in path.relative_to(PACKAGE).parts
)
#: hashlib's keyed or password-hashing functions; ``blake2b``/``blake2s`` only when given a ``key``.
KEYED_HASHLIB = frozenset({"pbkdf2_hmac", "scrypt"})
KEYABLE_HASHLIB = frozenset({"blake2b", "blake2s"})


def keyed_hashing_calls(source: str) -> list[str]:
    """The keyed hashlib calls in ``source`` (``hashlib.x(...)`` or ``x(...)`` imported from hashlib)."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "hashlib"
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
            name = function.attr if function.value.id == "hashlib" else None
        elif isinstance(function, ast.Name):
            name = imported.get(function.id)
        else:
            name = None
        keyed = name in KEYED_HASHLIB or (
            name in KEYABLE_HASHLIB and any(keyword.arg == "key" for keyword in node.keywords)
        )
        if keyed:
            found.append(f"{name} (line {node.lineno})")
    return found


def test_modules_outside_crypto_are_found() -> None:
    names = {path.relative_to(PACKAGE).as_posix() for path in OUTSIDE_CRYPTO}
    assert {"identity/tokens.py", "identity/admission.py", "identity/throttle.py"} <= names
    assert not any(name.startswith("crypto/") for name in names)


@pytest.mark.parametrize("path", OUTSIDE_CRYPTO, ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_no_module_outside_crypto_hashes_with_a_key(path: Path) -> None:
    assert keyed_hashing_calls(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import hashlib\nhashlib.blake2b(key=k, digest_size=16)",
        "from hashlib import blake2s\nblake2s(b'x', key=k)",
        "from hashlib import pbkdf2_hmac as derive\nderive('sha256', p, s, 1)",
        "import hashlib\nhashlib.scrypt(p, salt=s, n=2, r=8, p=1)",
    ],
)
def test_a_keyed_hashlib_call_is_found(source: str) -> None:
    assert len(keyed_hashing_calls(source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        "import hashlib\nhashlib.sha256(b'x').digest()",
        "import hashlib\nhashlib.blake2b(b'x', digest_size=16)",
        "from hashlib import sha256\nsha256(b'x')",
        "blake2b(key=k)",  # not hashlib's
        "factory()(key=k)",
    ],
)
def test_an_unkeyed_digest_is_not_found(source: str) -> None:
    assert keyed_hashing_calls(source) == []
