"""The data keys of data subjects: create, load (through the cache), shred, re-wrap, count.

A data key is stored only wrapped by the key provider's current KEK, bound to
its key id and subject, so a wrapped key copied to another subject's row does
not unwrap. Services never commit: each function works inside the caller's
unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from privacy_service.core.clock import Clock
from privacy_service.core.config import Settings
from privacy_service.core.ids import new_id
from privacy_service.crypto import DataKey, KeyProvider, LocalKeyFile, WrappedKey, generate_data_key
from privacy_service.keys.cache import DataKeyCache
from privacy_service.keys.errors import (
    RotationUnsupported,
    SubjectKeyDestroyed,
    SubjectKeyExists,
    SubjectKeyNotFound,
)
from privacy_service.keys.models import SubjectKey
from privacy_service.keys.provider import key_provider_for

_WRAP_CONTEXT = b"privacy-service/subject-key/v1"


def _wrap_associated_data(*, key_id: str, subject_id: str) -> bytes:
    parts = (_WRAP_CONTEXT, key_id.encode(), subject_id.encode())
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


@dataclass(frozen=True)
class KekUsage:
    """How many live data keys one KEK version wraps."""

    kek_version: int
    data_keys: int
    current: bool


class Keyring:
    """This process's access to subject data keys: the key provider plus a bounded cache of unwrapped keys."""

    def __init__(self, *, provider: KeyProvider, clock: Clock, cache: DataKeyCache) -> None:
        self.provider = provider
        self._clock = clock
        self._cache = cache

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock) -> Keyring:
        """The keyring the settings describe; raises InsecureKeyFile or SettingsError when unusable."""
        cache = DataKeyCache(
            max_entries=settings.data_key_cache_size, ttl_seconds=settings.data_key_cache_seconds
        )
        return cls(provider=key_provider_for(settings), clock=clock, cache=cache)

    def create(self, *, session: Session, subject_id: str) -> DataKey:
        """Give a new subject a fresh random data key, stored wrapped under the current KEK."""
        if session.scalar(select(SubjectKey.id).where(SubjectKey.subject_id == subject_id)) is not None:
            raise SubjectKeyExists()
        material = generate_data_key()
        key_id = new_id()
        wrapped = self.provider.wrap(
            material, associated_data=_wrap_associated_data(key_id=key_id, subject_id=subject_id)
        )
        row = SubjectKey(
            id=key_id,
            subject_id=subject_id,
            version=1,
            kek_version=wrapped.kek_version,
            wrapped=wrapped.blob,
            created_at=self._clock.now(),
        )
        session.add(row)
        session.flush()
        key = DataKey(key_id=row.id, version=row.version, material=material)
        self._cache.put(subject_id, key)
        return key

    def for_subject(self, *, session: Session, subject_id: str) -> DataKey:
        """The subject's data key, unwrapped. Raises SubjectKeyNotFound or SubjectKeyDestroyed."""
        cached = self._cache.get(subject_id)
        if cached is not None:
            return cached
        row = session.scalar(select(SubjectKey).where(SubjectKey.subject_id == subject_id))
        if row is None:
            raise SubjectKeyNotFound()
        return self._unwrap(row)

    def for_subjects(self, *, session: Session, subject_ids: Sequence[str]) -> dict[str, DataKey]:
        """Keys of many subjects, one query for those not cached; destroyed or missing ones are left out."""
        keys = self._cache.get_many(subject_ids)
        missing = [subject_id for subject_id in subject_ids if subject_id not in keys]
        if missing:
            rows = session.scalars(
                select(SubjectKey).where(SubjectKey.subject_id.in_(missing), SubjectKey.wrapped.is_not(None))
            )
            for row in rows:
                keys[row.subject_id] = self._unwrap(row)
        return keys

    def _unwrap(self, row: SubjectKey) -> DataKey:
        if row.wrapped is None or row.kek_version is None:
            raise SubjectKeyDestroyed()
        material = self.provider.unwrap(
            WrappedKey(kek_version=row.kek_version, blob=row.wrapped),
            associated_data=_wrap_associated_data(key_id=row.id, subject_id=row.subject_id),
        )
        key = DataKey(key_id=row.id, version=row.version, material=material)
        self._cache.put(row.subject_id, key)
        return key

    def shred(self, *, session: Session, subject_id: str) -> bool:
        """Destroy the subject's data key (crypto-shredding); True if there was a live key to destroy.

        Every value encrypted under it, in this database, its backups or any copy,
        is unreadable from the moment the caller's transaction commits. Other
        processes drop their cached copy within the cache's time limit.
        """
        self._cache.evict(subject_id)
        result = session.execute(
            update(SubjectKey)
            .where(SubjectKey.subject_id == subject_id, SubjectKey.wrapped.is_not(None))
            .values(wrapped=None, kek_version=None, destroyed_at=self._clock.now())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def usage(self, *, session: Session) -> list[KekUsage]:
        """Every KEK version the provider holds, with the number of live data keys each wraps."""
        rows = session.execute(
            select(SubjectKey.kek_version, func.count())
            .where(SubjectKey.kek_version.is_not(None))
            .group_by(SubjectKey.kek_version)
        ).all()
        counts = {int(version): int(count) for version, count in rows if version is not None}
        current = self.provider.current_version()
        versions = sorted(set(self.provider.versions()) | set(counts))
        return [KekUsage(kek_version=v, data_keys=counts.get(v, 0), current=v == current) for v in versions]

    def stale_count(self, *, session: Session) -> int:
        """Live data keys not yet wrapped under the current KEK version."""
        return int(
            session.scalar(
                select(func.count())
                .select_from(SubjectKey)
                .where(
                    SubjectKey.kek_version.is_not(None),
                    SubjectKey.kek_version != self.provider.current_version(),
                )
            )
            or 0
        )

    def rewrap_batch(self, *, session: Session, batch_size: int) -> int:
        """Re-wrap up to ``batch_size`` data keys under the current KEK; return how many were re-wrapped.

        Idempotent and resumable: each batch is its own transaction and picks
        whatever is still under an older version, so a crash loses nothing and
        a re-run continues. On PostgreSQL, rows locked by a concurrent
        re-wrapper are skipped rather than waited for.
        """
        current = self.provider.current_version()
        query = (
            select(SubjectKey)
            .where(SubjectKey.kek_version.is_not(None), SubjectKey.kek_version != current)
            .order_by(SubjectKey.id)
            .limit(batch_size)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            assert row.wrapped is not None
            assert row.kek_version is not None
            associated_data = _wrap_associated_data(key_id=row.id, subject_id=row.subject_id)
            material = self.provider.unwrap(
                WrappedKey(kek_version=row.kek_version, blob=row.wrapped), associated_data=associated_data
            )
            rewrapped = self.provider.wrap(material, associated_data=associated_data)
            row.kek_version, row.wrapped = rewrapped.kek_version, rewrapped.blob
        session.flush()
        return len(rows)

    def forget_cached(self) -> None:
        """Drop every unwrapped key this process holds (after a rotation, or in tests)."""
        self._cache.clear()


def add_kek_version(provider: KeyProvider) -> int:
    """Add a KEK version and make it current; only a provider that owns its keys can."""
    if not isinstance(provider, LocalKeyFile):
        raise RotationUnsupported(
            "this key provider takes its keys from outside: add the next version to PRIVACY_KEKS, restart "
            "every process, then run `privacy-service keys rotate` to re-wrap the data keys"
        )
    return provider.add_version()
