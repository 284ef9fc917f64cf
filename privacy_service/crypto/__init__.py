"""Cryptography for privacy-service: the only package that touches cryptographic primitives.

Key providers hold versioned key-encryption keys (KEKs) that wrap per-subject
data keys; the field cipher seals personal-data values under those data keys,
bound to their table, column and subject; the blind index allows exact-match
lookups without plaintext. This is the lowest layer: it imports nothing else
from the project and receives plain values (bytes, ints, paths).
"""

from privacy_service.crypto.blind_index import BlindIndex
from privacy_service.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    InsecureKeyFile,
    InvalidKeyMaterial,
    KeyVersionInUse,
    MalformedCiphertext,
    UnknownKeyVersion,
)
from privacy_service.crypto.field import (
    DataKey,
    DataKeyLookup,
    FieldContext,
    FieldHeader,
    decrypt_field,
    decrypt_field_with_lookup,
    encrypt_field,
    generate_data_key,
    parse_header,
)
from privacy_service.crypto.key_material import decode_key, encode_key, generate_key, generate_key_material
from privacy_service.crypto.providers import EnvironmentKeys, KeyProvider, LocalKeyFile, WrappedKey

__all__ = [
    "BlindIndex",
    "CryptoError",
    "DataKey",
    "DataKeyLookup",
    "DecryptionFailed",
    "EnvironmentKeys",
    "FieldContext",
    "FieldHeader",
    "InsecureKeyFile",
    "InvalidKeyMaterial",
    "KeyProvider",
    "KeyVersionInUse",
    "LocalKeyFile",
    "MalformedCiphertext",
    "UnknownKeyVersion",
    "WrappedKey",
    "decode_key",
    "decrypt_field",
    "decrypt_field_with_lookup",
    "encode_key",
    "encrypt_field",
    "generate_data_key",
    "generate_key",
    "generate_key_material",
    "parse_header",
]
