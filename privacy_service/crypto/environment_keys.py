"""Keys handed in as text by the settings layer: the container deployment's key provider."""

from __future__ import annotations

from collections.abc import Mapping

from privacy_service.crypto.errors import InvalidKeyMaterial
from privacy_service.crypto.kek import KekRing, WrappedKey
from privacy_service.crypto.key_material import decode_key


class EnvironmentKeys:
    """A fixed set of KEK versions and secrets, decoded and checked once at construction.

    The current KEK is the highest version. This provider cannot add versions:
    to rotate, the operator adds the next version to the environment and
    restarts, then re-wraps data keys and later removes the old version. It
    never reads the environment itself; the settings layer passes the values.
    """

    def __init__(self, *, keks: Mapping[int, str], blind_index_key: str, pepper_key: str) -> None:
        if not keks:
            raise InvalidKeyMaterial("at least one KEK version is required")
        self._ring = KekRing(
            keks={
                version: decode_key(encoded=text, role=f"kek v{version}") for version, text in keks.items()
            },
            current_version=max(keks),
            blind_index_key=decode_key(encoded=blind_index_key, role="blind index key"),
            pepper_key=decode_key(encoded=pepper_key, role="pepper key"),
        )

    def current_version(self) -> int:
        return self._ring.current_version

    def versions(self) -> tuple[int, ...]:
        return self._ring.versions()

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> WrappedKey:
        return self._ring.wrap(data_key, associated_data=associated_data)

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes:
        return self._ring.unwrap(wrapped, associated_data=associated_data)

    def blind_index_key(self) -> bytes:
        return self._ring.blind_index_key

    def pepper_key(self) -> bytes:
        return self._ring.pepper_key

    def __repr__(self) -> str:
        return f"EnvironmentKeys(versions={self.versions()}, current={self.current_version()})"
