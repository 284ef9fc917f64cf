"""Cryptography for privacy-service: the only package that touches cryptographic primitives.

Key providers hold versioned key-encryption keys (KEKs) that wrap per-subject
data keys; the field cipher encrypts personal-data values under those data keys,
bound to their table, column and subject; the blind index allows exact-match
lookups without plaintext. Passwords are hashed with argon2id and peppered
(encrypted under the pepper; imported legacy hashes too); TOTP and recovery
codes are the second factors. Values too long to hold whole (export bundles)
are sealed and opened segment by segment (``stream``). Keyed digests and
constant-time comparison serve the layers above (``digests``); JSON Web
Signatures with Ed25519 keys sign and check access tokens (``jws``), and
Ed25519 over bytes signs audit checkpoints (``signing``). This is the lowest
layer: it imports nothing else from the project and receives plain values
(bytes, ints, paths, times).
"""

from privacy_service.crypto.blind_index import BlindIndex
from privacy_service.crypto.digests import KeyedDigest, equal_in_constant_time
from privacy_service.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    InsecureHashParameters,
    InsecureKeyFile,
    InvalidCode,
    InvalidKeyMaterial,
    InvalidPassword,
    KeyVersionInUse,
    MalformedCiphertext,
    ReplayedCode,
    UnknownKeyVersion,
    UnsupportedHashFormat,
)
from privacy_service.crypto.field import (
    DataKey,
    DataKeyLookup,
    FieldContext,
    FieldHeader,
    TextColumns,
    decrypt_field,
    decrypt_field_with_lookup,
    encrypt_field,
    generate_data_key,
    parse_header,
)
from privacy_service.crypto.jws import (
    JWS_ALGORITHM,
    JwsAlgorithmNotAllowed,
    JwsPublicKey,
    JwsSigningKey,
    MalformedJws,
    NewJwsKey,
    UnknownJwsKey,
    VerifiedJws,
    generate_jws_key,
    open_jws_public_key,
    open_jws_signing_key,
    sign_jws,
    verify_jws,
)
from privacy_service.crypto.key_material import decode_key, encode_key, generate_key, generate_key_material
from privacy_service.crypto.legacy_hashes import LegacyScheme, identify, verify_legacy
from privacy_service.crypto.passwords import (
    Argon2Parameters,
    PasswordHasher,
    VerifyResult,
    normalise_password,
)
from privacy_service.crypto.pepper import PepperPurpose, pepper_subkey
from privacy_service.crypto.providers import EnvironmentKeys, KeyProvider, LocalKeyFile, WrappedKey
from privacy_service.crypto.recovery_codes import IssuedRecoveryCodes, RecoveryCodes, normalise_code
from privacy_service.crypto.signing import BadSignature
from privacy_service.crypto.stream import SEGMENT_SIZE, SegmentSink, StreamContext, StreamOpener, StreamSealer
from privacy_service.crypto.totp import TotpAlgorithm, TotpProfile

__all__ = [
    "JWS_ALGORITHM",
    "SEGMENT_SIZE",
    "Argon2Parameters",
    "BadSignature",
    "BlindIndex",
    "CryptoError",
    "DataKey",
    "DataKeyLookup",
    "DecryptionFailed",
    "EnvironmentKeys",
    "FieldContext",
    "FieldHeader",
    "InsecureHashParameters",
    "InsecureKeyFile",
    "InvalidCode",
    "InvalidKeyMaterial",
    "InvalidPassword",
    "IssuedRecoveryCodes",
    "JwsAlgorithmNotAllowed",
    "JwsPublicKey",
    "JwsSigningKey",
    "KeyProvider",
    "KeyVersionInUse",
    "KeyedDigest",
    "LegacyScheme",
    "LocalKeyFile",
    "MalformedCiphertext",
    "MalformedJws",
    "NewJwsKey",
    "PasswordHasher",
    "PepperPurpose",
    "RecoveryCodes",
    "ReplayedCode",
    "SegmentSink",
    "StreamContext",
    "StreamOpener",
    "StreamSealer",
    "TextColumns",
    "TotpAlgorithm",
    "TotpProfile",
    "UnknownJwsKey",
    "UnknownKeyVersion",
    "UnsupportedHashFormat",
    "VerifiedJws",
    "VerifyResult",
    "WrappedKey",
    "decode_key",
    "decrypt_field",
    "decrypt_field_with_lookup",
    "encode_key",
    "encrypt_field",
    "equal_in_constant_time",
    "generate_data_key",
    "generate_jws_key",
    "generate_key",
    "generate_key_material",
    "identify",
    "normalise_code",
    "normalise_password",
    "open_jws_public_key",
    "open_jws_signing_key",
    "parse_header",
    "pepper_subkey",
    "sign_jws",
    "verify_jws",
    "verify_legacy",
]
