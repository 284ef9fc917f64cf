"""The embedded default key provider: a JSON key file readable by its owner only.

Losing this file loses every subject's data keys, hence all encrypted personal
data: back it up, separately from the database backups it protects.
"""

from __future__ import annotations

import fcntl
import json
import operator
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

from privacy_service.crypto.errors import (
    InsecureKeyFile,
    InvalidKeyMaterial,
    KeyVersionInUse,
    UnknownKeyVersion,
)
from privacy_service.crypto.kek import KekRing, WrappedKey
from privacy_service.crypto.key_material import decode_key, encode_key, generate_key

KEY_FILE_FORMAT = 1

_OWNER_ONLY = 0o600
_GROUP_OR_OTHERS = 0o077
_WARNING = "Secret keys. Readable by the service's user only. Back up separately: losing them loses all data."

# (device, inode, size, mtime, ctime): os.replace gives a new inode, a write
# changes size or mtime, a chmod changes ctime, so any change is seen.
_Signature: TypeAlias = tuple[int, int, int, int, int]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _KeyFileContents:
    ring: KekRing
    created_at: str


class LocalKeyFile:
    """KEK versions, the blind index key and the pepper key, kept in one local file (POSIX only).

    The file is created on first run with mode 0600 and never exists with a
    wider mode; a file granting anything to group or others is refused with
    ``InsecureKeyFile``. Changes (``add_version``, ``retire_version``) rewrite
    it atomically under an exclusive lock, and every process using the file
    notices at its next use of the keys, without a restart: each use checks
    the file's status first (one ``stat``, not measurable beside the unwrap
    and the query around it: ``benchmarks/README.md``, "caches.py").
    """

    def __init__(self, *, path: Path, now: Callable[[], datetime] = _utc_now) -> None:
        """Open an existing key file; prefer ``open_or_create`` unless the file must already exist."""
        self._path = path
        self._now = now
        self._contents, self._signature = _read(path)

    @classmethod
    def open_or_create(cls, path: Path, *, now: Callable[[], datetime] = _utc_now) -> LocalKeyFile:
        """Open the key file, first creating it (and its parent directories) with fresh keys if absent."""
        if not path.exists():
            _create(path, created_at=now())
        return cls(path=path, now=now)

    @property
    def path(self) -> Path:
        return self._path

    def current_version(self) -> int:
        return self._ring().current_version

    def versions(self) -> tuple[int, ...]:
        return self._ring().versions()

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> WrappedKey:
        return self._ring().wrap(data_key, associated_data=associated_data)

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes:
        return self._ring().unwrap(wrapped, associated_data=associated_data)

    def blind_index_key(self) -> bytes:
        return self._contents.ring.blind_index_key

    def pepper_key(self) -> bytes:
        return self._contents.ring.pepper_key

    def add_version(self) -> int:
        """Add a fresh KEK version, make it current, and return it; older versions still unwrap."""
        with _exclusive_lock(self._path):
            contents, _ = _read(self._path)  # the file, not this process's possibly stale copy
            ring = contents.ring
            version = max(ring.keks) + 1
            self._write(
                replace(contents, ring=_with_keks(ring, {**ring.keks, version: generate_key()}, version))
            )
        return version

    def retire_version(self, version: int) -> None:
        """Delete a KEK version for good.

        The caller must first re-wrap every data key wrapped under it, in a
        pass that starts after every transaction that may have wrapped a key
        under the old version has ended: nothing can unwrap those keys
        afterwards. The current version cannot be retired.
        """
        with _exclusive_lock(self._path):
            contents, _ = _read(self._path)
            ring = contents.ring
            if version == ring.current_version:
                raise KeyVersionInUse(f"KEK version {version} is current; add a new version first")
            if version not in ring.keks:
                raise UnknownKeyVersion(f"KEK version {version} is not in the key file")
            keks = {kept: key for kept, key in ring.keks.items() if kept != version}
            self._write(replace(contents, ring=_with_keks(ring, keks, ring.current_version)))

    def __repr__(self) -> str:
        return f"LocalKeyFile(path={str(self._path)!r}, versions={self._contents.ring.versions()})"

    def _ring(self) -> KekRing:
        """Return the keys, first re-reading the file if it changed.

        A file that was deleted or made readable to others fails here
        (``FileNotFoundError``, ``InsecureKeyFile``) rather than being
        ignored: keys nobody can back up or keys others can read are not used.
        """
        if _signature(os.stat(self._path)) != self._signature:
            self._contents, self._signature = _read(self._path)
        return self._contents.ring

    def _write(self, contents: _KeyFileContents) -> None:
        _write_atomically(self._path, _serialise(contents), replace=True)
        self._contents, self._signature = _read(self._path)


def _with_keks(ring: KekRing, keks: dict[int, bytes], current_version: int) -> KekRing:
    return KekRing(
        keks=keks,
        current_version=current_version,
        blind_index_key=ring.blind_index_key,
        pepper_key=ring.pepper_key,
    )


def _create(path: Path, *, created_at: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    ring = KekRing(
        keks={1: generate_key()}, current_version=1, blind_index_key=generate_key(), pepper_key=generate_key()
    )
    contents = _KeyFileContents(ring=ring, created_at=created_at.isoformat(timespec="seconds"))
    _write_atomically(path, _serialise(contents), replace=False)


def _read(path: Path) -> tuple[_KeyFileContents, _Signature]:
    with os.fdopen(os.open(path, os.O_RDONLY), "rb") as file:
        # fstat on the open descriptor: the mode checked is the mode of the bytes read.
        status = os.fstat(file.fileno())
        mode = stat.S_IMODE(status.st_mode)
        if mode & _GROUP_OR_OTHERS:
            raise InsecureKeyFile(
                f"key file {path} has mode {mode:04o}; it must grant nothing to group or others (chmod 600)"
            )
        content = file.read()
    return _parse(content, path=path), _signature(status)


def _parse(content: bytes, *, path: Path) -> _KeyFileContents:
    try:
        document = json.loads(content)
        if document["format"] != KEY_FILE_FORMAT:
            raise InvalidKeyMaterial(f"key file {path}: unsupported format, expected {KEY_FILE_FORMAT}")
        ring = KekRing(
            keks={
                int(version): decode_key(encoded=text, role=f"kek v{version}")
                for version, text in document["keks"].items()
            },
            current_version=operator.index(document["current_version"]),
            blind_index_key=decode_key(encoded=document["blind_index_key"], role="blind index key"),
            pepper_key=decode_key(encoded=document["pepper_key"], role="pepper key"),
        )
        return _KeyFileContents(ring=ring, created_at=str(document["created_at"]))
    except (ValueError, KeyError, TypeError, AttributeError):  # not JSON, or not the expected shape
        raise InvalidKeyMaterial(f"key file {path} is not a valid key file") from None


def _serialise(contents: _KeyFileContents) -> bytes:
    ring = contents.ring
    document = {
        "format": KEY_FILE_FORMAT,
        "warning": _WARNING,
        "created_at": contents.created_at,
        "current_version": ring.current_version,
        "keks": {str(version): encode_key(ring.keks[version]) for version in ring.versions()},
        "blind_index_key": encode_key(ring.blind_index_key),
        "pepper_key": encode_key(ring.pepper_key),
    }
    return json.dumps(document, indent=2).encode() + b"\n"


def _signature(status: os.stat_result) -> _Signature:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _write_atomically(path: Path, content: bytes, *, replace: bool) -> None:
    """Write ``content`` to ``path`` so readers see the old file or the whole new one, never a part.

    The temporary file is created 0600 with O_EXCL, so the keys are never
    readable by others, not even for an instant. With ``replace=False`` the
    final step is a hard link, which fails if ``path`` exists: a process that
    loses a first-run race reads the winner's keys instead of overwriting them.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _OWNER_ONLY)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                return  # another process created it first; its keys stand
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename or link durable: on POSIX it lives in the directory entry."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the key file across processes.

    A side file is locked, not the key file: ``os.replace`` swaps the key
    file's inode, so a lock on it would not exclude the next writer. Without
    this, two concurrent ``add_version`` calls could each add a version and one
    would be lost with every data key already wrapped under it.
    """
    descriptor = os.open(path.with_name(f"{path.name}.lock"), os.O_RDWR | os.O_CREAT, _OWNER_ONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock
