"""Discovery: the public keys that verify access tokens, and the issuer's metadata (RFC 8414)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from privacy_service.api.deps import CredentialsDep, WorkDep
from privacy_service.identity.scopes import Scope

router = APIRouter(tags=["discovery"])


@router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens (RFC 7517)")
def jwks(work: WorkDep, credentials: CredentialsDep, response: Response) -> dict[str, Any]:
    # Short caching: a shop that meets a kid it does not know fetches the set again.
    response.headers["Cache-Control"] = "public, max-age=60"
    return credentials.tokens.jwks(session=work.session)


@router.get("/.well-known/openid-configuration", summary="Issuer metadata (RFC 8414)")
def openid_configuration(credentials: CredentialsDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    issuer = credentials.tokens.issuer
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "grant_types_supported": ["client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": sorted(scope.value for scope in Scope),
        "amr_values_supported": ["pwd", "otp"],
    }
