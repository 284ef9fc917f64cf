"""Choose the key provider the settings name, and report its problems as setting problems."""

from __future__ import annotations

from privacy_service.core.config import Settings, SettingsError
from privacy_service.crypto import EnvironmentKeys, InvalidKeyMaterial, KeyProvider, LocalKeyFile


def key_provider_for(settings: Settings) -> KeyProvider:
    """The local key file (created 0600 on first run) or the keys given in the environment.

    Raises ``InsecureKeyFile`` for a key file others can read, and
    ``SettingsError`` naming the variable for unusable environment keys.
    """
    if settings.key_provider == "file":
        return LocalKeyFile.open_or_create(settings.effective_key_file)
    # load_settings refuses the environment provider without these.
    assert settings.blind_index_key is not None
    assert settings.pepper_key is not None
    try:
        return EnvironmentKeys(
            keks=settings.kek_versions,
            blind_index_key=settings.blind_index_key.get_secret_value(),
            pepper_key=settings.pepper_key.get_secret_value(),
        )
    except InvalidKeyMaterial as error:
        raise SettingsError(
            [f"PRIVACY_KEKS / PRIVACY_BLIND_INDEX_KEY / PRIVACY_PEPPER_KEY: {error}"]
        ) from None
