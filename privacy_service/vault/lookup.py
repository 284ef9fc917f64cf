"""The email blind index: built in one place, so every caller digests addresses the same way."""

from __future__ import annotations

from privacy_service.crypto import BlindIndex, KeyProvider

EMAIL_PURPOSE = "email"


def email_index(provider: KeyProvider) -> BlindIndex:
    """The keyed blind index of normalised email addresses, under the provider's blind index key.

    Build it once per process (the HMAC key schedule is prepared here) and pass
    it to the vault's services.
    """
    return BlindIndex(key=provider.blind_index_key(), purpose=EMAIL_PURPOSE)
